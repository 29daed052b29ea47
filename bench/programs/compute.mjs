// A CPU-heavy program for the compute benchmark: runs as a Capsule task (exported main) and under node.
function fib(n) {
  return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

function sieve(limit) {
  const flags = new Uint8Array(limit + 1).fill(1);
  flags[0] = flags[1] = 0;
  for (let i = 2; i * i <= limit; i++) {
    if (flags[i]) {
      for (let j = i * i; j <= limit; j += i) flags[j] = 0;
    }
  }
  let count = 0;
  for (let i = 0; i <= limit; i++) count += flags[i];
  return count;
}

function text(n) {
  const words = new Map();
  for (let i = 0; i < n; i++) {
    const w = "w" + (i % 997);
    words.set(w, (words.get(w) || 0) + w.length);
  }
  return [...words.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0];
}

function numeric(n) {
  let total = 0;
  for (let i = 1; i < n; i++) total += ((i % 7) * 0.5) / i;
  return Math.round(total * 1e6) / 1e6;
}

export function main() {
  const start = Date.now();
  const result = [fib(22), sieve(500_000), text(300_000), numeric(1_000_000)];
  return { result, seconds: (Date.now() - start) / 1000 };
}

if (globalThis.process?.release?.name === "node") {
  console.log(JSON.stringify(main()));
}
