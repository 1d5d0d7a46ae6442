package io.sparkgrad.jobs;

import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.Appender;
import org.apache.logging.log4j.core.Filter;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.appender.ConsoleAppender;
import org.apache.logging.log4j.core.appender.FileAppender;
import org.apache.logging.log4j.core.config.Configuration;
import org.apache.logging.log4j.core.config.LoggerConfig;
import org.apache.logging.log4j.core.filter.DenyAllFilter;
import org.apache.logging.log4j.core.layout.PatternLayout;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;

/**
 * The log of one command-line run: while a command runs, what Spark and its libraries log (task
 * failures with their stack traces, memory warnings) goes to a file instead of the console, so
 * that the console holds the command's own lines and at most one error line, which names the file.
 *
 * <p>The file is {@code <dir>/<command>-<date>-<time>-<pid>.log}, {@code dir} being the system
 * property {@code sparkgrad.log.dir}, else the environment variable {@code SPARKGRAD_LOG_DIR},
 * else {@code sparkgrad-logs} in the temporary folder; it is created only when something is
 * logged (at the levels the logging configuration sets: WARN with {@code bin/sparkgrad}, Spark's
 * INFO under {@code spark-submit} without a configuration), and the error line names it when a
 * warning or an error was. Runs in one JVM at the same time share one file. Only the launcher does this: a library
 * user's logging stays as configured. Without log4j 2 as the logging backend nothing changes.
 * Spark may replace the logging configuration when it starts (its default profile, under
 * spark-submit without one): the redirection is then applied again to the new configuration.
 */
final class RunLog implements AutoCloseable {
    private static final String APPENDER = "sparkgrad-run-log";
    private static final java.util.concurrent.atomic.AtomicLong warnings = new java.util.concurrent.atomic.AtomicLong();
    private static int users;
    private static Path file;
    private static LoggerContext context;
    private static Applied applied;
    private static final java.beans.PropertyChangeListener RECONFIGURED = e -> {
        if (LoggerContext.PROPERTY_CONFIG.equals(e.getPropertyName())) {
            reapply();
        }
    };

    /** Lets every event through, counting those of level WARN and above: only those make the log worth naming. */
    private static final class CountWarnings extends org.apache.logging.log4j.core.filter.AbstractFilter {
        @Override
        public Result filter(org.apache.logging.log4j.core.LogEvent event) {
            if (event.getLevel().isMoreSpecificThan(Level.WARN)) {
                warnings.incrementAndGet();
            }
            return Result.NEUTRAL;
        }
    }

    /** What was changed in one configuration: the file appender, the consoles muted, the loggers given the file. */
    private static final class Applied {
        final Configuration cfg;
        final FileAppender appender;
        final Filter deny;
        final List<Appender> consoles = new ArrayList<>();
        final List<LoggerConfig> loggers = new ArrayList<>();

        Applied(Configuration cfg, Path f) {
            this.cfg = cfg;
            appender = FileAppender.newBuilder().setName(APPENDER).withFileName(f.toString()).withCreateOnDemand(true)
                .withAppend(true)
                .setLayout(PatternLayout.newBuilder().withPattern("%d{yyyy-MM-dd HH:mm:ss.SSS} %p %c{1}: %m%n").build())
                .setFilter(new CountWarnings()).setConfiguration(cfg).build();
            appender.start();
            cfg.addAppender(appender);
            deny = DenyAllFilter.newBuilder().build();
            deny.start();
            for (Appender c : cfg.getAppenders().values()) {
                if (c instanceof ConsoleAppender) {
                    ((ConsoleAppender) c).addFilter(deny);
                    consoles.add(c);
                }
            }
            List<LoggerConfig> all = new ArrayList<>(cfg.getLoggers().values());
            if (!all.contains(cfg.getRootLogger())) {
                all.add(cfg.getRootLogger());
            }
            for (LoggerConfig l : all) {
                if (l == cfg.getRootLogger() || !l.getAppenders().isEmpty()) {
                    l.addAppender(appender, (Level) null, null);
                    loggers.add(l);
                }
            }
        }

        void undo() {
            for (LoggerConfig l : loggers) {
                l.removeAppender(APPENDER);
            }
            for (Appender c : consoles) {
                ((ConsoleAppender) c).removeFilter(deny);
            }
            if (cfg instanceof org.apache.logging.log4j.core.config.AbstractConfiguration) {
                ((org.apache.logging.log4j.core.config.AbstractConfiguration) cfg).removeAppender(APPENDER);
            }
            appender.stop();
        }
    }

    private RunLog() {}

    /** Starts sending the logs to the run's file (or joins the run that already does). */
    static synchronized RunLog open(String command) {
        if (users++ == 0) {
            try {
                install(command);
            } catch (LinkageError | RuntimeException e) {
                file = null; // another logging backend: leave it as it is
            }
        }
        return new RunLog();
    }

    /**
     * The logging context Spark's classes log to: log4j keeps one per class loader, and under
     * spark-submit this class comes from the application jar's loader, not Spark's.
     */
    private static org.apache.logging.log4j.spi.LoggerContext sparkContext() {
        return LogManager.getContext(org.apache.spark.SparkContext.class.getClassLoader(), false);
    }

    private static void install(String command) {
        if (!(sparkContext() instanceof LoggerContext)) {
            return;
        }
        LoggerContext ctx = (LoggerContext) sparkContext();
        String stamp = LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
        Path dir = logDir();
        String base = command.replaceAll("[^A-Za-z0-9-]", "_") + "-" + stamp + "-" + ProcessHandle.current().pid();
        Path f = dir.resolve(base + ".log");
        for (int i = 2; Files.exists(f); i++) {
            f = dir.resolve(base + "-" + i + ".log");
        }
        warnings.set(0);
        file = f;
        context = ctx;
        applied = new Applied(ctx.getConfiguration(), f);
        ctx.updateLoggers();
        ctx.addPropertyChangeListener(RECONFIGURED);
    }

    /** The configuration was replaced (the old one stopped with our appender): apply the redirection to the new one. */
    private static synchronized void reapply() {
        if (context == null || applied == null || applied.cfg == context.getConfiguration()) {
            return;
        }
        applied = new Applied(context.getConfiguration(), file);
        context.updateLoggers();
    }

    private static Path logDir() {
        String dir = System.getProperty("sparkgrad.log.dir");
        if (dir == null || dir.isBlank()) {
            dir = System.getenv("SPARKGRAD_LOG_DIR");
        }
        if (dir == null || dir.isBlank()) {
            return Paths.get(System.getProperty("java.io.tmpdir"), "sparkgrad-logs");
        }
        return Paths.get(dir);
    }

    /** The log file when a warning or an error was logged during the run, else null. */
    synchronized Path logged() {
        return file != null && warnings.get() > 0 && Files.exists(file) ? file : null;
    }

    @Override
    public void close() {
        synchronized (RunLog.class) {
            if (--users > 0 || context == null) {
                return;
            }
            context.removePropertyChangeListener(RECONFIGURED);
            if (applied != null && applied.cfg == context.getConfiguration()) {
                applied.undo();
            }
            context.updateLoggers();
            applied = null;
            context = null;
            file = null;
        }
    }
}
