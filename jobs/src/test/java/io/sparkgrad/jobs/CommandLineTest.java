package io.sparkgrad.jobs;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The launcher's own commands: --version, the completion script, suggestions for a mistyped command. */
class CommandLineTest {
    @TempDir
    Path dir;

    private record Run(int code, String out, String err) {}

    private static Run run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Main.run(args, new PrintStream(out, true), new PrintStream(err, true));
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /** The parent pom's version and Spark version, read from the pom itself. */
    private static String[] pomVersions() throws Exception {
        String pom = Files.readString(Path.of("..", "pom.xml"));
        Matcher v = Pattern.compile("<artifactId>sparkgrad-parent</artifactId>\\s*<version>([^<]+)</version>").matcher(pom);
        Matcher s = Pattern.compile("<spark.version>([^<]+)</spark.version>").matcher(pom);
        assertTrue(v.find() && s.find(), "versions in ../pom.xml");
        return new String[] {v.group(1), s.group(1)};
    }

    @Test
    void versionIsTheMavenProjectsVersion() throws Exception {
        String[] pom = pomVersions();
        String expected = "sparkgrad " + pom[0] + " (built for Spark " + pom[1] + ", Scala 2.13; running on Java "
            + System.getProperty("java.version") + ")\n";
        for (String flag : new String[] {"--version", "-V", "version"}) {
            Run r = run(flag);
            assertEquals(0, r.code, r.err);
            assertEquals(expected, r.out.replace("\r\n", "\n"), flag);
        }
    }

    @Test
    void aMistypedCommandGetsASuggestionAndExitsTwo() {
        Run r = run("trian", "--iterations", "3");
        assertEquals(2, r.code);
        assertTrue(r.err.startsWith("sparkgrad unknown command 'trian' (did you mean train?)\n"), r.err);
        Run far = run("xyzzy");
        assertEquals(2, far.code);
        assertTrue(far.err.startsWith("sparkgrad unknown command 'xyzzy'\n"), far.err);
    }

    @Test
    void completionScriptCompletesCommandsAndOptionsInBash() throws Exception {
        Run r = run("completion");
        assertEquals(0, r.code, r.err);
        Path script = dir.resolve("sparkgrad-completion.bash");
        Files.writeString(script, r.out);
        // what bash offers after "sparkgrad tr<TAB>" and "sparkgrad train --iter<TAB>"
        assertEquals("train", complete(script, "sparkgrad", "tr"));
        assertEquals("--iterations", complete(script, "sparkgrad", "train", "--iter"));
        assertTrue(complete(script, "sparkgrad", "bench-dist", "--").contains("--rows"));
        Run extra = run("completion", "--zsh");
        assertEquals(2, extra.code);
    }

    /** Sources the script in bash and runs its completion function for the words typed; returns COMPREPLY. */
    private static String complete(Path script, String... words) throws Exception {
        String line = String.join(" ", words);
        // compopt only works inside a completion bash itself runs: a no-op here
        String cmd = "source '" + script + "'; compopt() { :; }; COMP_WORDS=(" + line + "); COMP_CWORD=" + (words.length - 1)
            + "; COMP_LINE='" + line + "'; COMP_POINT=" + line.length() + "; "
            + "$(complete -p sparkgrad | sed -E 's/.*-F ([^ ]+).*/\\1/') sparkgrad; echo \"${COMPREPLY[*]}\"";
        Process p = new ProcessBuilder("bash", "-c", cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "bash finished");
        assertEquals(0, p.exitValue(), out);
        return out;
    }
}
