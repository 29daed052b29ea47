package io.capsule.wasm.fs;

import com.dylibso.chicory.runtime.HostFunction;
import com.dylibso.chicory.runtime.WasmFunctionHandle;

import io.capsule.core.policy.FileAccessException;
import java.nio.channels.NonReadableChannelException;
import java.nio.channels.NonWritableChannelException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The file-system policy in front of Chicory's WASI. With a plain host directory as the guest tree
 * (harness, SDK, the task's sources) everything is read-only: every call that could change a file is
 * refused with {@code EROFS} before WASI sees it. With a {@link JailFileSystem} the jail decides per
 * path, and its refusals are turned into errno values here ({@link #jailed}).
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

    /**
     * Wraps every WASI function so that a refusal of the {@link JailFileSystem} (or a write through a
     * descriptor opened read-only) becomes the errno the guest's libc expects instead of a host failure.
     */
    public static List<HostFunction> jailed(HostFunction[] wasi) {
        List<HostFunction> out = new ArrayList<>(wasi.length);
        for (HostFunction f : wasi) {
            WasmFunctionHandle inner = f.handle();
            out.add(new HostFunction(f.module(), f.name(), f.functionType(), (instance, args) -> {
                try {
                    return inner.apply(instance, args);
                } catch (FileAccessException e) {
                    return Errno.result(errno(e.reason()));
                } catch (NonWritableChannelException | NonReadableChannelException e) {
                    return Errno.result(Errno.BAD_FD);
                }
            }));
        }
        return out;
    }

    static int errno(FileAccessException.Reason reason) {
        return switch (reason) {
            case NOT_FOUND -> Errno.NO_ENTRY;
            case NOT_DIRECTORY -> Errno.NOT_DIRECTORY;
            case DENIED -> Errno.ACCESS;
            case READ_ONLY -> Errno.READ_ONLY_FS;
            case NOT_PERMITTED -> Errno.PERMISSION;
            case BUSY -> Errno.BUSY;
        };
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
