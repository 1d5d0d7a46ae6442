package io.sparkgrad.jobs;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Np;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A trained model on disk, {@code model.json}: the kind, the feature and label columns, the
 * number of classes and hidden widths, and every parameter's name, shape and values.
 * (Jackson comes with Spark.)
 */
final class ModelFile {
    static final String NAME = "model.json";
    private static final ObjectMapper JSON = new ObjectMapper();

    final Model model;
    final List<NDArray> params;
    final List<String> features;
    final String label;

    ModelFile(Model model, List<NDArray> params, List<String> features, String label) {
        this.model = model;
        this.params = params;
        this.features = features;
        this.label = label;
    }

    void write(Path dir) throws IOException {
        ObjectNode root = JSON.createObjectNode();
        root.put("format", "sparkgrad-model");
        root.put("version", 1);
        root.put("model", model.kind);
        root.put("classes", model.classes);
        ArrayNode hidden = root.putArray("hidden");
        model.hidden.forEach(hidden::add);
        ArrayNode feats = root.putArray("features");
        features.forEach(feats::add);
        root.put("label", label);
        ArrayNode ps = root.putArray("params");
        for (int i = 0; i < params.size(); i++) {
            ObjectNode p = ps.addObject();
            p.put("name", model.names().get(i));
            ArrayNode shape = p.putArray("shape");
            for (long s : params.get(i).shape()) {
                shape.add(s);
            }
            ArrayNode values = p.putArray("values");
            for (double v : params.get(i).toArray()) {
                values.add(v);
            }
        }
        Files.writeString(dir.resolve(NAME), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(root) + "\n");
    }

    /**
     * Reads {@code dir/model.json}; anything missing, of the wrong type or shape fails naming the
     * file and the field (JSON syntax errors also the line and column).
     */
    static ModelFile read(String command, Path dir) {
        Path file = dir.resolve(NAME);
        if (!Files.isRegularFile(file)) {
            throw new JobError(command + ": no " + NAME + " in " + dir + " (give the --out folder of a train run)");
        }
        JsonNode root;
        try {
            root = JSON.readTree(file.toFile());
        } catch (JsonProcessingException e) {
            JsonLocation at = e.getLocation();
            throw new JobError(command + ": " + file + (at == null ? "" : " line " + at.getLineNr() + ", column "
                + at.getColumnNr()) + ": not valid JSON: " + e.getOriginalMessage().replaceAll("\\s*\\R\\s*", " "), e);
        } catch (IOException e) {
            throw new JobError(command + ": cannot read " + file + ": " + e.getMessage(), e);
        }
        if (root == null || !"sparkgrad-model".equals(root.path("format").asText())) {
            throw new JobError(command + ": " + file + " is not a sparkgrad model file (no \"format\": \"sparkgrad-model\")");
        }
        List<String> features = new ArrayList<>();
        for (JsonNode f : array(command, file, root, "features")) {
            if (!f.isTextual()) {
                throw new JobError(command + ": " + file + ": the field 'features' must list column names, found " + f);
            }
            features.add(f.asText());
        }
        List<Integer> hidden = new ArrayList<>();
        for (JsonNode h : array(command, file, root, "hidden")) {
            if (!h.canConvertToInt() || h.asInt() < 1) {
                throw new JobError(command + ": " + file + ": the field 'hidden' must list positive widths, found " + h);
            }
            hidden.add(h.asInt());
        }
        if (!root.path("model").isTextual() || !root.path("classes").canConvertToInt()) {
            throw new JobError(command + ": " + file + " is damaged: the fields 'model' (text) and 'classes' (a whole number) "
                + "are required");
        }
        Model model;
        try {
            model = Model.of(root.path("model").asText(), features.size(), root.path("classes").asInt(), hidden);
        } catch (JobError e) {
            throw new JobError(command + ": " + file + ": " + e.getMessage().replaceFirst("^train: ", ""), e);
        }
        JsonNode ps = array(command, file, root, "params");
        if (ps.size() != model.names().size()) {
            throw new JobError(command + ": " + file + " holds " + ps.size() + " parameters; a " + model.kind
                + " model has " + model.names().size());
        }
        List<NDArray> params = new ArrayList<>();
        for (int i = 0; i < ps.size(); i++) {
            JsonNode p = ps.get(i);
            String name = p.path("name").asText("#" + i);
            int[] shape = new int[p.path("shape").size()];
            for (int k = 0; k < shape.length; k++) {
                shape[k] = p.path("shape").get(k).asInt(-1);
            }
            if (!java.util.Arrays.equals(shape, model.shapes().get(i))) {
                throw new JobError(command + ": parameter '" + name + "' in " + file + " has the shape "
                    + java.util.Arrays.toString(shape) + "; this model's is " + java.util.Arrays.toString(model.shapes().get(i)));
            }
            JsonNode vs = p.path("values");
            int expected = 1;
            for (int d : shape) {
                expected *= d;
            }
            if (vs.size() != expected) {
                throw new JobError(command + ": parameter '" + name + "' in " + file + " has " + vs.size() + " values; its shape "
                    + java.util.Arrays.toString(shape) + " holds " + expected);
            }
            double[] values = new double[vs.size()];
            for (int k = 0; k < values.length; k++) {
                JsonNode v = vs.get(k);
                if (!v.isNumber() || !Double.isFinite(v.asDouble())) {
                    throw new JobError(command + ": parameter '" + name + "' in " + file + " has the value " + v + " at index "
                        + k + ", not a finite number");
                }
                values[k] = v.asDouble();
            }
            params.add(Np.array(shape, values));
        }
        return new ModelFile(model, params, features, root.path("label").asText(null));
    }

    private static JsonNode array(String command, Path file, JsonNode root, String field) {
        JsonNode a = root.path(field);
        if (!a.isArray()) {
            throw new JobError(command + ": " + file + " is damaged: the field '" + field + "' is missing or not a list");
        }
        return a;
    }
}
