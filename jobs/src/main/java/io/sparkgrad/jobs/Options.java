package io.sparkgrad.jobs;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import picocli.CommandLine;

/**
 * Command-line options of one sub-command: {@code --name value} pairs and {@code --flag}s, each
 * declared with a help line, parsed by picocli. Unknown options (with the closest declared ones
 * as suggestions), missing values and malformed numbers are {@link JobError}s that name the option.
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

    /**
     * Reads {@code args} with picocli (so {@code --name=value} works too, and a mistyped option gets
     * a suggestion); returns false when {@code --help} was asked for. As before, the last of a
     * repeated option wins and a value may begin with dashes ({@code --lr -1}).
     */
    boolean parse(String[] args) {
        CommandLine cl = new CommandLine(spec())
            .setOverwrittenOptionsAllowed(true)
            .setAllowOptionsAsOptionParameters(true)
            .setUnmatchedOptionsAllowedAsOptionParameters(true);
        CommandLine.ParseResult result;
        try {
            result = cl.parseArgs(args);
        } catch (CommandLine.UnmatchedArgumentException e) {
            List<String> suggestions = e.getSuggestions();
            throw new JobError(command + ": unknown option '" + e.getUnmatched().get(0) + "'"
                + (suggestions.isEmpty() ? "" : " (did you mean " + String.join(" or ", suggestions) + "?)")
                + " (see bin/sparkgrad " + command + " --help)");
        } catch (CommandLine.MissingParameterException e) {
            String name = e.getMissing().isEmpty() ? "?" : ((CommandLine.Model.OptionSpec) e.getMissing().get(0)).longestName();
            throw new JobError(command + ": option " + name + " needs a value");
        } catch (CommandLine.ParameterException e) {
            throw new JobError(command + ": " + e.getMessage());
        }
        if (result.isUsageHelpRequested()) {
            return false;
        }
        for (CommandLine.Model.OptionSpec o : result.matchedOptions()) {
            String name = o.longestName().substring(2);
            values.put(name, flags.contains(name) ? "true" : o.getValue());
        }
        return true;
    }

    /** The sub-command's options as picocli's model (also what shell completion is generated from). */
    CommandLine.Model.CommandSpec spec() {
        CommandLine.Model.CommandSpec spec = CommandLine.Model.CommandSpec.create().name(command);
        spec.addOption(CommandLine.Model.OptionSpec.builder("-h", "--help").usageHelp(true).description("this text").build());
        for (String name : help.keySet()) {
            spec.addOption(CommandLine.Model.OptionSpec.builder("--" + name)
                .arity(flags.contains(name) ? "0" : "1")
                .type(flags.contains(name) ? boolean.class : String.class)
                .description(help.get(name)).build());
        }
        return spec;
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
