package io.sparkgrad.autograd;

import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Shape;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/** Renders a recorded graph as Graphviz DOT or as indented text. */
final class GraphExport {
    private GraphExport() {}

    /** How an array appears in a graph: produced by a node, a variable, or a constant. */
    private static String describeLeaf(NDArray a) {
        AutogradMeta m = a.autogradMetaOrNull();
        if (m != null && m.requiresGrad()) {
            return "variable " + Shape.str(a.shape()) + " grad " + m.gradReq;
        }
        return "constant " + Shape.str(a.shape());
    }

    private static Node<?> creator(NDArray a) {
        AutogradMeta m = a.autogradMetaOrNull();
        return m == null ? null : m.creator;
    }

    static String toDot(NDArray head) {
        StringBuilder b = new StringBuilder("digraph sparkgrad {\n  rankdir=BT;\n  node [fontname=\"monospace\"];\n");
        Map<Object, String> ids = new IdentityHashMap<>();
        Deque<NDArray> todo = new ArrayDeque<>();
        todo.push(head);
        while (!todo.isEmpty()) {
            NDArray a = todo.pop();
            Node<?> n = creator(a);
            Object key = n != null ? n : a;
            if (ids.containsKey(key)) {
                continue;
            }
            String id = (n != null ? "n" : "a") + ids.size();
            ids.put(key, id);
            if (n == null) {
                boolean variable = a.requiresGrad();
                b.append("  ").append(id).append(" [shape=box, ")
                    .append(variable ? "style=filled, fillcolor=lightblue" : "style=dashed")
                    .append(", label=\"").append(describeLeaf(a)).append("\"];\n");
                continue;
            }
            b.append("  ").append(id).append(" [label=\"").append(n).append("\\n").append(Shape.str(a.shape()))
                .append(n.isFreed() ? "\\n(freed)" : "").append('"').append(a == head ? ", peripheries=2" : "")
                .append("];\n");
            if (!n.isFreed()) {
                for (NDArray in : n.inputs()) {
                    todo.push(in);
                }
            }
        }
        // edges, now that every array has an id
        for (Map.Entry<Object, String> e : ids.entrySet()) {
            if (!(e.getKey() instanceof Node) || ((Node<?>) e.getKey()).isFreed()) {
                continue;
            }
            for (NDArray in : ((Node<?>) e.getKey()).inputs()) {
                Node<?> c = creator(in);
                String from = ids.get(c != null ? c : in);
                b.append("  ").append(from).append(" -> ").append(e.getValue())
                    .append(in.requiresGrad() ? "" : " [style=dashed]").append(";\n");
            }
        }
        return b.append("}\n").toString();
    }

    static String explain(NDArray head) {
        StringBuilder b = new StringBuilder();
        Map<Object, Integer> seen = new IdentityHashMap<>();
        Deque<Object[]> stack = new ArrayDeque<>(); // {array, depth}
        stack.push(new Object[] {head, 0});
        while (!stack.isEmpty()) {
            Object[] top = stack.pop();
            NDArray a = (NDArray) top[0];
            int depth = (Integer) top[1];
            b.append("  ".repeat(depth));
            Node<?> n = creator(a);
            Object key = n != null ? n : a;
            Integer label = seen.get(key);
            if (label != null) {
                b.append(n != null ? n.toString() : "leaf " + label).append(" (see above)\n");
                continue;
            }
            seen.put(key, seen.size());
            if (n == null) {
                b.append("leaf ").append(seen.get(key)).append(": ").append(describeLeaf(a)).append('\n');
                continue;
            }
            b.append(n).append(" -> ").append(Shape.str(a.shape())).append(n.isFreed() ? " (freed)" : "").append('\n');
            if (!n.isFreed()) {
                List<NDArray> in = new ArrayList<>(List.of(n.inputs()));
                for (int k = in.size() - 1; k >= 0; k--) {
                    stack.push(new Object[] {in.get(k), depth + 1});
                }
            }
        }
        return b.toString();
    }
}
