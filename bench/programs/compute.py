"""A CPU-heavy program for the compute benchmark: runs as a Capsule task (main) and as plain python3."""
import time


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def sieve(limit):
    flags = bytearray([1]) * (limit + 1)
    flags[0:2] = b"\x00\x00"
    for i in range(2, int(limit ** 0.5) + 1):
        if flags[i]:
            flags[i * i::i] = bytearray(len(flags[i * i::i]))
    return sum(flags)


def text(n):
    words = {}
    for i in range(n):
        w = "w%d" % (i % 997)
        words[w] = words.get(w, 0) + len(w)
    return sorted(words.items(), key=lambda kv: (-kv[1], kv[0]))[0]


def numeric(n):
    total = 0.0
    for i in range(1, n):
        total += (i % 7) * 0.5 / i
    return round(total, 6)


def main():
    start = time.perf_counter()
    result = [fib(22), sieve(200_000), text(200_000), numeric(300_000)]
    return {"result": result, "seconds": time.perf_counter() - start}


if __name__ == "__main__":
    import json

    print(json.dumps(main()))
