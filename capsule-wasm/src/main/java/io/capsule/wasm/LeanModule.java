package io.capsule.wasm;

import java.io.ByteArrayOutputStream;

/**
 * Strips a wasm binary of what a warm-start snapshot makes redundant: the data section (the snapshot
 * holds the whole memory) and custom sections (names, debug info). Everything else is copied byte for
 * byte, so the result parses to the same functions, imports, exports and globals.
 */
final class LeanModule {
    private static final int CUSTOM = 0;
    private static final int DATA = 11;
    private static final int HEADER = 8; // "\0asm" and the version

    private LeanModule() {}

    static byte[] strip(byte[] wasm) {
        if (wasm.length < HEADER || wasm[0] != 0 || wasm[1] != 'a' || wasm[2] != 's' || wasm[3] != 'm') {
            throw new IllegalArgumentException("not a wasm binary");
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(1 << 16);
        out.write(wasm, 0, HEADER);
        int pos = HEADER;
        while (pos < wasm.length) {
            int start = pos;
            int id = wasm[pos++] & 0xff;
            long size = 0;
            int shift = 0;
            int b;
            do {
                if (pos >= wasm.length || shift > 28) {
                    throw new IllegalArgumentException("truncated section header at byte " + start);
                }
                b = wasm[pos++] & 0xff;
                size |= (long) (b & 0x7f) << shift;
                shift += 7;
            } while ((b & 0x80) != 0);
            long end = pos + size;
            if (end > wasm.length) {
                throw new IllegalArgumentException("section " + id + " at byte " + start + " runs past the end");
            }
            if (id != CUSTOM && id != DATA) {
                out.write(wasm, start, (int) (end - start));
            }
            pos = (int) end;
        }
        return out.toByteArray();
    }
}
