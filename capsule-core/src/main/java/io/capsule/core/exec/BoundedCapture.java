package io.capsule.core.exec;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Keeps the first {@code limit} bytes a guest prints for the envelope and passes everything on to an
 * optional live sink, so that an output flood cannot exhaust the host's memory.
 */
public final class BoundedCapture extends OutputStream {
    private final ByteArrayOutputStream kept = new ByteArrayOutputStream();
    private final int limit;
    private final OutputStream live;
    private long dropped;

    public BoundedCapture(int limit, OutputStream live) {
        this.limit = limit;
        this.live = live;
    }

    @Override
    public synchronized void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public synchronized void write(byte[] b, int off, int len) throws IOException {
        int keep = Math.max(0, Math.min(len, limit - kept.size()));
        kept.write(b, off, keep);
        dropped += len - keep;
        if (live != null) {
            try {
                live.write(b, off, len);
                live.flush();
            } catch (IOException e) {
                // A closed terminal must not fail the task; the envelope still has the output.
            }
        }
    }

    /** What was kept, with a note of how much was cut; null when nothing was printed. */
    public synchronized String text() {
        if (kept.size() == 0 && dropped == 0) {
            return null;
        }
        String s = kept.toString(StandardCharsets.UTF_8);
        return dropped == 0 ? s : s + "\n[capsule: output truncated, " + dropped + " more bytes not kept]";
    }
}
