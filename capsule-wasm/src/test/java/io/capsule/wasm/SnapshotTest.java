package io.capsule.wasm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.dylibso.chicory.runtime.Memory;
import com.dylibso.chicory.wasm.types.MemoryLimits;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SnapshotTest {
    @TempDir
    Path dir;

    private static Snapshot sample() {
        CappedMemory m = new CappedMemory(new MemoryLimits(3, 10), 10);
        m.writeLong(16, 0x1122334455667788L);
        m.writeI32(2 * Memory.PAGE_SIZE + 4, 99);
        return Snapshot.ofMemory(m);
    }

    @Test
    void roundTripsThroughAFile() throws IOException {
        Path file = dir.resolve("s.snapshot");
        sample().writeTo(file);
        Snapshot back = Snapshot.readFrom(file);
        assertThat(back.pageCount()).isEqualTo(3);
        CappedMemory m = new CappedMemory(new MemoryLimits(1, 10), 10, back);
        assertThat(m.readLong(16)).isEqualTo(0x1122334455667788L);
        assertThat(m.readInt(2 * Memory.PAGE_SIZE + 4)).isEqualTo(99);
        assertThat(m.readInt(Memory.PAGE_SIZE)).isZero();
        assertThat(Files.size(file)).as("zero pages are stored as one byte").isLessThan(2L * Memory.PAGE_SIZE + 100);
    }

    @Test
    void damagedFilesAreRejected() throws IOException {
        Path file = dir.resolve("s.snapshot");
        sample().writeTo(file);
        byte[] bytes = Files.readAllBytes(file);
        byte[] flipped = bytes.clone();
        flipped[40] ^= 1;
        Files.write(file, flipped);
        assertThatThrownBy(() -> Snapshot.readFrom(file)).isInstanceOf(IOException.class);
        Files.write(file, java.util.Arrays.copyOf(bytes, bytes.length - 9));
        assertThatThrownBy(() -> Snapshot.readFrom(file)).isInstanceOf(IOException.class);
        Files.writeString(file, "not a snapshot at all");
        assertThatThrownBy(() -> Snapshot.readFrom(file)).isInstanceOf(IOException.class);
    }

    @Test
    void cacheReusesASnapshotAndRebuildsACorruptOne() throws IOException {
        // The smallest module with a memory: magic, version, memory section with one memory of 1 page.
        byte[] module = {0, 'a', 's', 'm', 1, 0, 0, 0, 5, 3, 1, 0, 1};
        System.setProperty("capsule.cache.dir", dir.toString());
        try {
            int[] builds = {0};
            java.util.function.Supplier<java.io.InputStream> source = () -> new java.io.ByteArrayInputStream(module);
            java.util.function.Function<WasmTemplate, Snapshot> create = t -> {
                builds[0]++;
                return sample();
            };
            var first = SnapshotCache.load("t", "k", source, com.dylibso.chicory.runtime.InterpreterMachine::new, create);
            var second = SnapshotCache.load("t", "k", source, com.dylibso.chicory.runtime.InterpreterMachine::new, create);
            assertThat(builds[0]).isEqualTo(1);
            assertThat(second.snapshot().pageCount()).isEqualTo(first.snapshot().pageCount());
            assertThat(second.template().initialPages()).isEqualTo(1);
            Path file = dir.resolve("snapshots/t-k.snapshot");
            Files.writeString(file, "garbage");
            SnapshotCache.load("t", "k", source, com.dylibso.chicory.runtime.InterpreterMachine::new, create);
            assertThat(builds[0]).as("a corrupt file is rebuilt").isEqualTo(2);
            assertThat(Snapshot.readFrom(file).pageCount()).isEqualTo(3);
        } finally {
            System.clearProperty("capsule.cache.dir");
        }
    }
}
