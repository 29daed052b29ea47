package io.capsule.wasm.fs;

/** WASI preview 1 error numbers the host returns itself (Chicory keeps its own table private). */
public final class Errno {
    public static final int SUCCESS = 0;
    public static final int TOO_BIG = 1;
    public static final int ACCESS = 2;
    public static final int BAD_FD = 8;
    public static final int BUSY = 10;
    public static final int NO_ENTRY = 44;
    public static final int NOT_DIRECTORY = 54;
    public static final int PERMISSION = 63;
    public static final int READ_ONLY_FS = 69;
    public static final int NOT_CAPABLE = 76;

    private Errno() {}

    public static long[] result(int errno) {
        return new long[] {errno};
    }
}
