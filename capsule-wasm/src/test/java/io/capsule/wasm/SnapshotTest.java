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
    void cacheRebuildsACorruptFile() throws IOException {
        System.setProperty("capsule.cache.dir", dir.toString());
        try {
            int[] builds = {0};
            Snapshot first = SnapshotCache.load("t", "k", () -> { builds[0]++; return sample(); });
            Snapshot second = SnapshotCache.load("t", "k", () -> { builds[0]++; return sample(); });
            assertThat(builds[0]).isEqualTo(1);
            assertThat(second.pageCount()).isEqualTo(first.pageCount());
            Path file = dir.resolve("snapshots/t-k.snapshot");
            Files.writeString(file, "garbage");
            SnapshotCache.load("t", "k", () -> { builds[0]++; return sample(); });
            assertThat(builds[0]).isEqualTo(2);
            assertThat(Snapshot.readFrom(file).pageCount()).isEqualTo(3);
        } finally {
            System.clearProperty("capsule.cache.dir");
        }
    }
}
