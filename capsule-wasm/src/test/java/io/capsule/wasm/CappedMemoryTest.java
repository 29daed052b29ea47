package io.capsule.wasm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.dylibso.chicory.runtime.Memory;
import com.dylibso.chicory.runtime.WasmRuntimeException;
import com.dylibso.chicory.wasm.types.MemoryLimits;
import org.junit.jupiter.api.Test;

class CappedMemoryTest {
    private static final int PAGE = Memory.PAGE_SIZE;

    @Test
    void growStopsAtTheCapAndRemembersIt() {
        CappedMemory m = new CappedMemory(new MemoryLimits(1, 100), 3);
        assertThat(m.grow(2)).isEqualTo(1);
        assertThat(m.capHit()).isFalse();
        assertThat(m.grow(1)).isEqualTo(-1);
        assertThat(m.capHit()).isTrue();
        assertThat(m.pages()).isEqualTo(3);
        assertThat(m.bytesUsed()).isEqualTo(3L * PAGE);
    }

    @Test
    void capCanBeLoweredButNotBelowWhatIsUsed() {
        CappedMemory m = new CappedMemory(new MemoryLimits(2, 100), 50);
        assertThat(m.lowerCap(1)).isFalse();
        assertThat(m.capPages()).isEqualTo(50);
        assertThat(m.lowerCap(4)).isTrue();
        assertThat(m.lowerCap(40)).as("never raised again").isTrue();
        assertThat(m.capPages()).isEqualTo(4);
        assertThat(m.grow(3)).isEqualTo(-1);
    }

    @Test
    void valuesRoundTripIncludingAcrossPageBoundaries() {
        CappedMemory m = new CappedMemory(new MemoryLimits(2, 2), 2);
        for (int addr : new int[] {0, 100, PAGE - 1, PAGE - 3, PAGE - 7}) {
            m.writeLong(addr, 0x0102030405060708L);
            assertThat(m.readLong(addr)).isEqualTo(0x0102030405060708L);
            m.writeI32(addr, 0xCAFEBABE);
            assertThat(m.readInt(addr)).isEqualTo(0xCAFEBABE);
            m.writeShort(addr, (short) 0xBEEF);
            assertThat(m.readShort(addr)).isEqualTo((short) 0xBEEF);
            m.writeF64(addr, Math.PI);
            assertThat(m.readDouble(addr)).isEqualTo(Math.PI);
        }
        m.write(PAGE - 2, new byte[] {1, 2, 3, 4}, 0, 4);
        assertThat(m.readBytes(PAGE - 2, 4)).containsExactly(1, 2, 3, 4);
        m.copy(10, PAGE - 2, 4);
        assertThat(m.readBytes(10, 4)).containsExactly(1, 2, 3, 4);
        m.copy(11, 10, 4); // overlapping
        assertThat(m.readBytes(10, 5)).containsExactly(1, 1, 2, 3, 4);
    }

    @Test
    void outOfBoundsAccessTraps() {
        CappedMemory m = new CappedMemory(new MemoryLimits(1, 4), 4);
        assertThatThrownBy(() -> m.readInt(PAGE)).isInstanceOf(WasmRuntimeException.class);
        assertThatThrownBy(() -> m.writeI32(PAGE - 2, 1)).isInstanceOf(WasmRuntimeException.class);
        assertThatThrownBy(() -> m.writeByte(-1, (byte) 1)).isInstanceOf(WasmRuntimeException.class);
        assertThatThrownBy(() -> m.readBytes(PAGE - 1, 2)).isInstanceOf(WasmRuntimeException.class);
        assertThatThrownBy(() -> m.fill((byte) 1, PAGE - 1, PAGE + 1)).isInstanceOf(WasmRuntimeException.class);
    }

    @Test
    void instancesFromOneSnapshotNeverSeeEachOthersWrites() {
        CappedMemory original = new CappedMemory(new MemoryLimits(2, 10), 10);
        original.writeI32(8, 42);
        original.writeI32(PAGE + 8, 43);
        Snapshot snapshot = Snapshot.ofMemory(original);

        CappedMemory a = new CappedMemory(new MemoryLimits(1, 10), 10, snapshot);
        CappedMemory b = new CappedMemory(new MemoryLimits(1, 10), 10, snapshot);
        assertThat(a.pages()).isEqualTo(2);
        assertThat(a.readInt(8)).isEqualTo(42);
        a.writeI32(8, 7);
        a.fill((byte) 9, PAGE, PAGE + 16);
        assertThat(a.readInt(8)).isEqualTo(7);
        assertThat(b.readInt(8)).isEqualTo(42);
        assertThat(b.readInt(PAGE + 8)).isEqualTo(43);
        CappedMemory c = new CappedMemory(new MemoryLimits(1, 10), 10, snapshot);
        assertThat(c.readInt(8)).as("the snapshot itself is untouched").isEqualTo(42);
        assertThat(c.readInt(PAGE + 8)).isEqualTo(43);
        original.writeI32(8, 1000);
        assertThat(c.readInt(8)).as("the snapshot is a copy").isEqualTo(42);
    }

    @Test
    void writesAcrossChunksOfASharedSnapshotStayPrivate() {
        int chunk = CappedMemory.CHUNK;
        CappedMemory original = new CappedMemory(new MemoryLimits(2, 10), 10);
        original.writeLong(chunk - 4, 0x1111111122222222L); // straddles chunks 0 and 1
        Snapshot snapshot = Snapshot.ofMemory(original);

        CappedMemory a = new CappedMemory(new MemoryLimits(1, 10), 10, snapshot);
        CappedMemory b = new CappedMemory(new MemoryLimits(1, 10), 10, snapshot);
        assertThat(a.readLong(chunk - 4)).isEqualTo(0x1111111122222222L);
        a.writeLong(chunk - 2, -1L); // touches chunks 0 and 1 of a only
        a.write(3 * chunk - 1, new byte[] {5, 6}, 0, 2); // two all-zero chunks, shared in the snapshot
        assertThat(a.readBytes(3 * chunk - 1, 2)).containsExactly(5, 6);
        assertThat(b.readLong(chunk - 4)).isEqualTo(0x1111111122222222L);
        assertThat(b.readBytes(3 * chunk - 1, 2)).as("zero chunks are shared, never written").containsExactly(0, 0);
        assertThat(b.readBytes(5 * chunk, 8)).containsExactly(0, 0, 0, 0, 0, 0, 0, 0);
    }
}
