package io.capsule.wasm;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.function.UnaryOperator;

/**
 * The guest's synchronous line to the host, carried on WASI file descriptor 0 (the task has no use for
 * stdin): the guest writes one request line, then reads the response line. The handler runs on the
 * guest's own thread while the guest waits, so a host call is an ordinary blocking call.
 */
public final class HostChannel {
    /** A request larger than this is refused: it could only be a flood. */
    static final int MAX_REQUEST_BYTES = 64 << 20;

    private final UnaryOperator<String> handler;
    private final ByteArrayOutputStream request = new ByteArrayOutputStream();
    private byte[] response = new byte[0];
    private int responseOffset;

    public HostChannel(UnaryOperator<String> handler) {
        this.handler = handler;
    }

    /** Bytes the guest wrote; a complete line triggers the call. Returns false when the request is too big. */
    boolean write(byte[] bytes) {
        for (byte b : bytes) {
            if (b == '\n') {
                String line = request.toString(StandardCharsets.UTF_8);
                request.reset();
                response = (handler.apply(line) + "\n").getBytes(StandardCharsets.UTF_8);
                responseOffset = 0;
            } else {
                if (request.size() >= MAX_REQUEST_BYTES) {
                    request.reset();
                    return false;
                }
                request.write(b);
            }
        }
        return true;
    }

    /** Up to {@code max} bytes of the pending response; empty (end of file) when none is pending. */
    byte[] read(int max) {
        int n = Math.min(max, response.length - responseOffset);
        byte[] out = new byte[n];
        System.arraycopy(response, responseOffset, out, 0, n);
        responseOffset += n;
        return out;
    }
}
