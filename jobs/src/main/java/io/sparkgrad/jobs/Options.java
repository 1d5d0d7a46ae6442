package io.sparkgrad.jobs;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Command-line options of one sub-command: {@code --name value} pairs and {@code --flag}s, each
 * declared with a help line. Unknown options, missing values and malformed numbers are
 * {@link JobError}s that name the option.
 */
final class Options {
    private final String command;
    private final Map<String, String> help = new LinkedHashMap<>();
    private final Map<String, String> defaults = new LinkedHashMap<>();
    private final Set<String> flags = new java.util.HashSet<>();
    private final Map<String, String> values = new LinkedHashMap<>();

    Options(String command) {
        this.command = command;
    }

    /** The sub-command these options belong to. */
    String command() {
        return command;
    }

    /** Declares {@code --name VALUE}; {@code def} null means no default. */
    Options option(String name, String def, String text) {
        help.put(name, text);
        defaults.put(name, def);
        return this;
    }

    /** Declares a {@code --name} flag. */
    Options flag(String name, String text) {
        help.put(name, text);
        flags.add(name);
        return this;
    }

    /** Reads {@code args}; returns false when {@code --help} was asked for. */
    boolean parse(String[] args) {
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--help") || a.equals("-h")) {
                return false;
            }
            if (!a.startsWith("--") || !help.containsKey(a.substring(2))) {
                throw new JobError(command + ": unknown option '" + a + "' (see bin/sparkgrad " + command + " --help)");
            }
            String name = a.substring(2);
            if (flags.contains(name)) {
                values.put(name, "true");
            } else if (i + 1 >= args.length) {
                throw new JobError(command + ": option --" + name + " needs a value");
            } else {
                values.put(name, args[++i]);
            }
        }
        return true;
    }

    String usage(String synopsis) {
        StringBuilder b = new StringBuilder("usage: bin/sparkgrad " + command + " " + synopsis + "\n\noptions:\n");
        for (Map.Entry<String, String> e : help.entrySet()) {
            String name = "--" + e.getKey() + (flags.contains(e.getKey()) ? "" : " VALUE");
            String def = defaults.get(e.getKey());
            b.append(String.format("  %-22s %s%s%n", name, e.getValue(), def == null ? "" : " (default " + def + ")"));
        }
        return b.toString();
    }

    boolean has(String name) {
        return values.containsKey(name);
    }

    boolean flag(String name) {
        return values.containsKey(name);
    }

    String string(String name) {
        String v = values.getOrDefault(name, defaults.get(name));
        return v;
    }

    String required(String name) {
        String v = string(name);
        if (v == null) {
            throw new JobError(command + ": option --" + name + " is required");
        }
        return v;
    }

    int positiveInt(String name) {
        String v = required(name);
        try {
            int n = Integer.parseInt(v.replace("_", ""));
            if (n > 0) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new JobError(command + ": --" + name + " must be a positive whole number, got '" + v + "'");
    }

    long longValue(String name) {
        String v = required(name);
        try {
            return Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw new JobError(command + ": --" + name + " must be a whole number, got '" + v + "'");
        }
    }

    double number(String name, double min, double max) {
        String v = required(name);
        double d;
        try {
            d = Double.parseDouble(v);
        } catch (NumberFormatException e) {
            throw new JobError(command + ": --" + name + " must be a number, got '" + v + "'");
        }
        if (!(d >= min && d <= max)) {
            throw new JobError(command + ": --" + name + " must be in [" + min + ", " + max + "], got " + v);
        }
        return d;
    }

    /** A comma-separated list, or an empty list when the option is absent. */
    List<String> list(String name) {
        String v = string(name);
        if (v == null || v.isBlank()) {
            return List.of();
        }
        List<String> out = new ArrayList<>();
        for (String s : v.split(",")) {
            if (!s.isBlank()) {
                out.add(s.trim());
            }
        }
        return out;
    }

    /** One of {@code choices}. */
    String choice(String name, String... choices) {
        String v = required(name);
        if (!Arrays.asList(choices).contains(v)) {
            throw new JobError(command + ": --" + name + " must be one of " + String.join(", ", choices) + ", got '" + v + "'");
        }
        return v;
    }
}
