package io.sparkgrad.jobs;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * A run's claim on its output folder ({@code --out}), made before any work: an exclusive marker
 * file {@code .NAME.sparkgrad-lock} beside the folder, created atomically, so that a second run
 * on the same folder fails at once instead of after training. The run writes into a hidden
 * temporary folder beside it ({@link #temporary()}) and {@link #commit}s: the new folder is moved
 * in by a rename, and with {@code --overwrite} the old one is first moved aside and removed only
 * once the new one is in place. {@link #close} removes the marker and anything left temporary.
 *
 * <p>A marker left by a run that died (its process is gone, on this host) is taken over; one of
 * another host is respected, and the error says how to remove it.
 */
final class OutputClaim implements AutoCloseable {
    private final String command;
    private final Path out;
    private final Path marker;
    private final Path temporary;
    private boolean released;

    private OutputClaim(String command, Path out, Path marker, Path temporary) {
        this.command = command;
        this.out = out;
        this.marker = marker;
        this.temporary = temporary;
    }

    /** Claims {@code out}; fails (a {@link JobError}) when another run holds it, or it exists without {@code overwrite}. */
    static OutputClaim claim(String command, Path out, boolean overwrite) {
        Path abs = out.toAbsolutePath().normalize();
        Path parent = abs.getParent();
        String name = abs.getFileName().toString();
        Path marker = parent.resolve("." + name + ".sparkgrad-lock");
        try {
            Files.createDirectories(parent);
        } catch (IOException e) {
            throw new JobError(command + ": cannot create the folder " + parent + " for --out " + out + ": " + reason(e), e);
        }
        String me = ProcessHandle.current().pid() + " " + host() + " "
            + LocalDateTime.now().format(DateTimeFormatter.ISO_LOCAL_DATE_TIME) + " " + command;
        for (int attempt = 0; ; attempt++) {
            try {
                Files.writeString(Files.createFile(marker), me + "\n");
                break;
            } catch (FileAlreadyExistsException e) {
                String holder = read(marker);
                if (attempt == 0 && stale(holder)) {
                    try {
                        Files.deleteIfExists(marker);
                    } catch (IOException ignored) {
                        // the next attempt reports the marker
                    }
                    continue;
                }
                String[] h = holder.trim().split(" ", 4);
                String who = h.length >= 3 ? "process " + h[0] + " on " + h[1] + ", since " + h[2].replace('T', ' ') : "another run";
                throw new JobError(command + ": " + out + " is being written by another run (" + who + "); if that run "
                    + "is gone, delete " + marker);
            } catch (AccessDeniedException | NoSuchFileException | NotDirectoryException e) {
                throw new JobError(command + ": cannot write to " + parent + " (the folder of --out " + out + "): "
                    + reason(e), e);
            } catch (IOException e) {
                throw new JobError(command + ": cannot claim " + out + " (marker " + marker + "): " + reason(e), e);
            }
        }
        OutputClaim claim = new OutputClaim(command, out, marker, parent.resolve("." + name + ".tmp-" + System.nanoTime()));
        if (Files.exists(abs) && !overwrite) {
            claim.close();
            throw new JobError(command + ": " + out + " already exists (pass --overwrite to replace it)");
        }
        return claim;
    }

    /** The hidden folder beside {@code --out} to write into (not yet created). */
    Path temporary() {
        return temporary;
    }

    /**
     * Moves the written temporary folder to {@code --out}; an existing folder is moved aside
     * first and deleted only after the new one is in place (and moved back if that fails).
     */
    void commit() {
        Path abs = out.toAbsolutePath().normalize();
        Path old = null;
        try {
            if (Files.exists(abs)) {
                old = abs.resolveSibling("." + abs.getFileName() + ".old-" + System.nanoTime());
                Files.move(abs, old, StandardCopyOption.ATOMIC_MOVE);
            }
            Files.move(temporary, abs, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            if (old != null && !Files.exists(abs)) {
                try {
                    Files.move(old, abs, StandardCopyOption.ATOMIC_MOVE);
                    old = null;
                } catch (IOException ignored) {
                    // reported below: the old folder stays beside the new place under its hidden name
                }
            }
            throw new JobError(command + ": cannot move the finished output into " + out + ": " + reason(e)
                + (old != null ? " (the previous " + out + " is at " + old + ")" : ""), e);
        }
        if (old != null) {
            deleteQuietly(old);
        }
    }

    /** Releases the claim: removes the marker and the temporary folder if it is still there. */
    @Override
    public void close() {
        if (released) {
            return;
        }
        released = true;
        deleteQuietly(temporary);
        try {
            Files.deleteIfExists(marker);
        } catch (IOException ignored) {
            // a marker left behind is taken over by the next run on this host
        }
    }

    private static boolean stale(String holder) {
        String[] h = holder.trim().split(" ", 3);
        if (h.length < 2 || !h[1].equals(host())) {
            return false;
        }
        try {
            return ProcessHandle.of(Long.parseLong(h[0])).map(p -> !p.isAlive()).orElse(true);
        } catch (NumberFormatException e) {
            return false;
        }
    }

    private static String read(Path marker) {
        try {
            return Files.readString(marker);
        } catch (IOException e) {
            return "";
        }
    }

    private static String host() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return "localhost";
        }
    }

    private static String reason(IOException e) {
        if (e instanceof AccessDeniedException) {
            return "permission denied";
        }
        if (e instanceof NotDirectoryException || e instanceof FileAlreadyExistsException) {
            return ((java.nio.file.FileSystemException) e).getFile() + " is not a folder";
        }
        if (e instanceof NoSuchFileException) {
            return ((java.nio.file.FileSystemException) e).getFile() + " does not exist";
        }
        return e.getClass().getSimpleName() + ": " + e.getMessage();
    }

    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            List<Path> all = walk.sorted(Comparator.reverseOrder()).toList();
            for (Path p : all) {
                Files.delete(p);
            }
        }
    }

    static void deleteQuietly(Path dir) {
        try {
            deleteTree(dir);
        } catch (IOException ignored) {
            // best effort: a leftover hidden folder is harmless
        }
    }
}
