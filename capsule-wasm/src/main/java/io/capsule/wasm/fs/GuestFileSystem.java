package io.capsule.wasm.fs;

import com.dylibso.chicory.runtime.HostFunction;
import com.dylibso.chicory.runtime.WasmFunctionHandle;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The file-system policy in front of Chicory's WASI: the guest tree (harness, SDK, the task's sources)
 * is read-only, so every call that could change a file is refused with {@code EROFS} before WASI sees
 * it. Calls that only read pass through.
 */
public final class GuestFileSystem {
    private static final long RIGHT_FD_WRITE = 1L << 6;
    private static final int OFLAG_CREAT = 1;
    private static final int OFLAG_TRUNC = 8;
    private static final int FDFLAG_APPEND = 1;

    /** Calls that change the tree whatever their arguments. */
    private static final Set<String> ALWAYS_WRITES = Set.of(
            "path_create_directory", "path_remove_directory", "path_rename", "path_unlink_file",
            "path_symlink", "path_link", "path_filestat_set_times",
            "fd_filestat_set_size", "fd_filestat_set_times", "fd_allocate", "fd_pwrite");

    private GuestFileSystem() {}

    /** Wraps the WASI functions that could write. */
    public static List<HostFunction> guard(HostFunction[] wasi) {
        List<HostFunction> out = new ArrayList<>(wasi.length);
        Map<String, WasmFunctionHandle> guards = Map.of(
                "path_open", (instance, args) -> {
                    int oflags = (int) args[4];
                    long rights = args[5];
                    int fdflags = (int) args[7];
                    boolean writes = (oflags & (OFLAG_CREAT | OFLAG_TRUNC)) != 0
                            || (rights & RIGHT_FD_WRITE) != 0 || (fdflags & FDFLAG_APPEND) != 0;
                    return writes ? Errno.result(Errno.READ_ONLY_FS) : null;
                },
                "fd_write", (instance, args) -> args[0] > 2 ? Errno.result(Errno.BAD_FD) : null);
        for (HostFunction f : wasi) {
            WasmFunctionHandle guard = ALWAYS_WRITES.contains(f.name())
                    ? (instance, args) -> Errno.result(Errno.READ_ONLY_FS)
                    : guards.get(f.name());
            out.add(guard == null ? f : wrap(f, guard));
        }
        return out;
    }

    /** Runs {@code guard} first; a non-null answer replaces the call. */
    public static HostFunction wrap(HostFunction f, WasmFunctionHandle guard) {
        WasmFunctionHandle inner = f.handle();
        return new HostFunction(f.module(), f.name(), f.functionType(), (instance, args) -> {
            long[] refused = guard.apply(instance, args);
            return refused != null ? refused : inner.apply(instance, args);
        });
    }
}
