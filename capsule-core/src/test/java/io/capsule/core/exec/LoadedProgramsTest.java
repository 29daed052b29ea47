package io.capsule.core.exec;

import static org.assertj.core.api.Assertions.assertThat;

import io.capsule.core.spi.AttemptOutcome;
import io.capsule.core.spi.AttemptSpec;
import io.capsule.core.spi.HostBridge;
import io.capsule.core.spi.Program;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class LoadedProgramsTest {
    /** A program that only counts how often it was closed. */
    static final class Counted implements Program {
        final AtomicInteger closes = new AtomicInteger();

        @Override
        public AttemptOutcome runAttempt(AttemptSpec spec, HostBridge host) {
            throw new UnsupportedOperationException();
        }

        @Override
        public void close() {
            closes.incrementAndGet();
        }
    }

    @Test
    void aRepeatReusesTheLoadedProgramAndReleasingDoesNotCloseIt() {
        LoadedPrograms loaded = new LoadedPrograms(4);
        AtomicInteger loads = new AtomicInteger();
        Counted program = new Counted();
        for (int i = 0; i < 5; i++) {
            loaded.acquire("a", () -> {
                loads.incrementAndGet();
                return program;
            }).close();
        }
        assertThat(loads).hasValue(1);
        assertThat(program.closes).hasValue(0);
        loaded.close();
        assertThat(program.closes).hasValue(1);
    }

    @Test
    void theLeastRecentlyUsedIsClosedBeyondTheCapacityOnlyOnceItsRunsEnd() {
        LoadedPrograms loaded = new LoadedPrograms(2);
        Counted a = new Counted();
        Counted b = new Counted();
        Counted c = new Counted();
        Program runningA = loaded.acquire("a", () -> a);
        loaded.acquire("b", () -> b).close();
        loaded.acquire("c", () -> c).close(); // evicts a, which a run still uses
        assertThat(loaded.size()).isEqualTo(2);
        assertThat(a.closes).as("in use").hasValue(0);
        runningA.close();
        runningA.close(); // a second release changes nothing
        assertThat(a.closes).hasValue(1);
        loaded.acquire("d", () -> new Counted()).close(); // evicts b, unused: closed at once
        assertThat(b.closes).hasValue(1);
        assertThat(c.closes).hasValue(0);
    }

    @Test
    void aProgramLoadedTwiceAtOnceKeepsOneAndClosesTheOther() {
        LoadedPrograms loaded = new LoadedPrograms(2);
        Counted first = new Counted();
        Counted second = new Counted();
        Program[] inner = new Program[1];
        Program outer = loaded.acquire("a", () -> {
            // Another run loads the same program while this one is loading.
            inner[0] = loaded.acquire("a", () -> second);
            return first;
        });
        assertThat(second.closes).hasValue(0);
        assertThat(first.closes).as("the late one is dropped").hasValue(1);
        outer.close();
        inner[0].close();
        assertThat(loaded.size()).isEqualTo(1);
        loaded.close();
        assertThat(second.closes).hasValue(1);
    }

    @Test
    void aProgramLoadedAfterCloseIsClosedWhenItsRunEnds() {
        LoadedPrograms loaded = new LoadedPrograms(2);
        loaded.close();
        Counted late = new Counted();
        Program lease = loaded.acquire("a", () -> late);
        assertThat(late.closes).hasValue(0);
        lease.close();
        assertThat(late.closes).hasValue(1);
    }
}
