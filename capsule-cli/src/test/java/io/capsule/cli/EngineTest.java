package io.capsule.cli;

import io.capsule.core.CapsuleEngine;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** End-to-end tests through the Java API: one engine per test class, as a host application would hold it. */
abstract class EngineTest {
    protected static CapsuleEngine engine;

    @BeforeAll
    static void startEngine() {
        engine = CapsuleEngine.builder().build();
    }

    @AfterAll
    static void stopEngine() {
        engine.close();
    }
}
