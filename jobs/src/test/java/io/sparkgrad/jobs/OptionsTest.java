package io.sparkgrad.jobs;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The command line of a sub-command: values, flags, the last of a repeat, and one-line errors. */
class OptionsTest {
    private static Options options() {
        return new Options("train").option("iterations", "20", "iterations").option("lr", "0.1", "learning rate")
            .option("data", null, "input").flag("overwrite", "replace --out");
    }

    @Test
    void valuesFlagsAndDefaults() {
        Options o = options();
        assertTrue(o.parse(new String[] {"--iterations", "5", "--lr=-0.5", "--overwrite", "--iterations", "7"}));
        assertEquals(7, o.positiveInt("iterations"), "the last of a repeated option wins");
        assertEquals(-0.5, o.number("lr", -1, 1));
        assertTrue(o.flag("overwrite"));
        assertFalse(o.has("data"));
        assertEquals("train: option --data is required", assertThrows(JobError.class, () -> o.required("data")).getMessage());
    }

    @Test
    void aValueMayBeginWithDashes() {
        Options o = options();
        assertTrue(o.parse(new String[] {"--data", "--weird-name.csv", "--lr", "-1"}));
        assertEquals("--weird-name.csv", o.string("data"));
        assertEquals("-1", o.string("lr"));
    }

    @Test
    void helpIsAskedFor() {
        assertFalse(options().parse(new String[] {"--iterations", "3", "--help"}));
        assertFalse(options().parse(new String[] {"-h"}));
    }

    @Test
    void aMistypedOptionGetsASuggestion() {
        JobError e = assertThrows(JobError.class, () -> options().parse(new String[] {"--iteratons", "5"}));
        assertEquals("train: unknown option '--iteratons' (did you mean --iterations?) (see bin/sparkgrad train --help)",
            e.getMessage());
        JobError stray = assertThrows(JobError.class, () -> options().parse(new String[] {"extra"}));
        assertTrue(stray.getMessage().startsWith("train: unknown option 'extra'"), stray.getMessage());
    }

    @Test
    void aMissingValueIsNamed() {
        JobError e = assertThrows(JobError.class, () -> options().parse(new String[] {"--lr"}));
        assertEquals("train: option --lr needs a value", e.getMessage());
    }
}
