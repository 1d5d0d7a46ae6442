package io.sparkgrad.worker;

import io.sparkgrad.autograd.Activity;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The injector does nothing outside a Spark task; its delays are reproducible per seed and spread out. */
class FaultInjectorTest {

    @AfterEach
    void clear() {
        FaultInjector.clear();
    }

    @Test
    void outsideATaskNoRuleAndNoDelayApplies() {
        FaultInjector.failAttempts(Activity.Phase.FORWARD, null, 0, 100);
        FaultInjector.delayTasks(1, 10_000);
        long t0 = System.nanoTime();
        FaultInjector.check(); // no TaskContext: the driver's own calls are never failed or delayed
        assertTrue(System.nanoTime() - t0 < 1_000_000_000L);
    }

    @Test
    void aTasksDelayIsAFunctionOfTheSeedAndTheTaskAndOtherSeedsReorderTheTasks() {
        Set<Long> delays = new HashSet<>();
        for (int p = 0; p < 50; p++) {
            long d = FaultInjector.delayMillis(7, 20, 3, p, 0);
            assertTrue(d >= 0 && d < 20, "in [0, 20): " + d);
            assertEquals(d, FaultInjector.delayMillis(7, 20, 3, p, 0));
            delays.add(d);
        }
        assertTrue(delays.size() > 10, "spread over the range: " + delays);
        int reordered = 0;
        for (int p = 0; p + 1 < 50; p++) {
            boolean before7 = FaultInjector.delayMillis(7, 1000, 3, p, 0) < FaultInjector.delayMillis(7, 1000, 3, p + 1, 0);
            boolean before8 = FaultInjector.delayMillis(8, 1000, 3, p, 0) < FaultInjector.delayMillis(8, 1000, 3, p + 1, 0);
            reordered += before7 != before8 ? 1 : 0;
        }
        assertTrue(reordered > 10, "another seed finishes neighbouring tasks in another order: " + reordered);
        assertThrows(IllegalArgumentException.class, () -> FaultInjector.delayTasks(1, -1));
    }
}
