package io.sparkgrad.jobs;

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

    static ModelFile read(String command, Path dir) {
        Path file = dir.resolve(NAME);
        if (!Files.isRegularFile(file)) {
            throw new JobError(command + ": no " + NAME + " in " + dir + " (give the --out folder of a train run)");
        }
        try {
            JsonNode root = JSON.readTree(file.toFile());
            if (!"sparkgrad-model".equals(root.path("format").asText())) {
                throw new JobError(command + ": " + file + " is not a sparkgrad model file");
            }
            List<String> features = new ArrayList<>();
            root.path("features").forEach(f -> features.add(f.asText()));
            List<Integer> hidden = new ArrayList<>();
            root.path("hidden").forEach(h -> hidden.add(h.asInt()));
            Model model = Model.of(root.path("model").asText(), features.size(), root.path("classes").asInt(), hidden);
            List<NDArray> params = new ArrayList<>();
            JsonNode ps = root.path("params");
            if (ps.size() != model.names().size()) {
                throw new JobError(command + ": " + file + " holds " + ps.size() + " parameters; a " + model.kind
                    + " model has " + model.names().size());
            }
            for (int i = 0; i < ps.size(); i++) {
                JsonNode p = ps.get(i);
                int[] shape = new int[p.path("shape").size()];
                for (int k = 0; k < shape.length; k++) {
                    shape[k] = p.path("shape").get(k).asInt();
                }
                if (!java.util.Arrays.equals(shape, model.shapes().get(i))) {
                    throw new JobError(command + ": parameter '" + p.path("name").asText() + "' in " + file
                        + " has the wrong shape for this model");
                }
                double[] values = new double[p.path("values").size()];
                for (int k = 0; k < values.length; k++) {
                    values[k] = p.path("values").get(k).asDouble();
                }
                params.add(Np.array(shape, values));
            }
            return new ModelFile(model, params, features, root.path("label").asText(null));
        } catch (IOException e) {
            throw new JobError(command + ": cannot read " + file + ": " + e.getMessage(), e);
        } catch (IllegalArgumentException e) {
            throw new JobError(command + ": " + file + " is damaged: " + e.getMessage(), e);
        }
    }
}
