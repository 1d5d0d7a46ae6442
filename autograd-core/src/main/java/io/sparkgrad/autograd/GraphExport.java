package io.sparkgrad.autograd;

import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Shape;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Renders a recorded graph as Graphviz DOT or as indented text. A graph that backward freed keeps
 * its structure (ops, shapes, placements, leaves): it is shown the same way, marked as freed.
 */
final class GraphExport {
    private GraphExport() {}

    /** A leaf of a freed graph: how it was described when its node released it. */
    record Leaf(String description) {}

    /** How an array appears in a graph: produced by a node, a variable, or a constant. */
    static String describeLeaf(NDArray a) {
        AutogradMeta m = a.autogradMetaOrNull();
        String what = m != null && m.requiresGrad() ? "variable " + Shape.str(a.shape()) + " grad " + m.gradReq
            : "constant " + Shape.str(a.shape());
        return what + placement(a);
    }

    /** How a node's output appears: its shape, and where it lives when that is not this JVM. */
    static String describeOutput(NDArray a) {
        return Shape.str(a.shape()) + placement(a);
    }

    private static String placement(NDArray a) {
        return a.isDistributed() ? " distributed" : "";
    }

    private static Node<?> creator(NDArray a) {
        AutogradMeta m = a.autogradMetaOrNull();
        return m == null ? null : m.creator;
    }

    /** What an entry of the graph is: the node that made an array, or the array (or freed leaf) itself. */
    private static Object entry(NDArray a) {
        Node<?> n = creator(a);
        return n != null ? n : a;
    }

    /** The entries a node reads: creators and leaves, live or as kept by {@link Node#free}. */
    private static List<Object> inputs(Node<?> n) {
        if (n.isFreed()) {
            return List.of(n.freedInputs());
        }
        List<Object> in = new ArrayList<>();
        for (NDArray a : n.inputs()) {
            in.add(entry(a));
        }
        return in;
    }

    private static String output(Node<?> n) {
        return n.isFreed() ? n.freedOutput() + " (freed)" : describeOutput(n.output());
    }

    private static String describe(Object leaf) {
        return leaf instanceof Leaf ? ((Leaf) leaf).description() : describeLeaf((NDArray) leaf);
    }

    private static boolean isVariable(Object leaf) {
        return leaf instanceof Leaf ? ((Leaf) leaf).description().startsWith("variable")
            : ((NDArray) leaf).requiresGrad();
    }

    static String toDot(NDArray head) {
        StringBuilder b = new StringBuilder("digraph sparkgrad {\n  rankdir=BT;\n  node [fontname=\"monospace\"];\n");
        Map<Object, String> ids = new IdentityHashMap<>();
        Deque<Object> todo = new ArrayDeque<>();
        Object top = entry(head);
        todo.push(top);
        while (!todo.isEmpty()) {
            Object e = todo.pop();
            if (ids.containsKey(e)) {
                continue;
            }
            String id = (e instanceof Node ? "n" : "a") + ids.size();
            ids.put(e, id);
            if (!(e instanceof Node)) {
                b.append("  ").append(id).append(" [shape=box, ")
                    .append(isVariable(e) ? "style=filled, fillcolor=lightblue" : "style=dashed")
                    .append(", label=\"").append(describe(e)).append("\"];\n");
                continue;
            }
            Node<?> n = (Node<?>) e;
            b.append("  ").append(id).append(" [label=\"").append(n).append("\\n").append(output(n)).append('"')
                .append(e == top ? ", peripheries=2" : "").append("];\n");
            inputs(n).forEach(todo::push);
        }
        // edges, now that every entry has an id
        for (Map.Entry<Object, String> e : ids.entrySet()) {
            if (e.getKey() instanceof Node) {
                for (Object in : inputs((Node<?>) e.getKey())) {
                    boolean flows = in instanceof Node || isVariable(in);
                    b.append("  ").append(ids.get(in)).append(" -> ").append(e.getValue())
                        .append(flows ? "" : " [style=dashed]").append(";\n");
                }
            }
        }
        return b.append("}\n").toString();
    }

    static String explain(NDArray head) {
        StringBuilder b = new StringBuilder();
        Map<Object, Integer> seen = new IdentityHashMap<>();
        Deque<Object[]> stack = new ArrayDeque<>(); // {entry, depth}
        stack.push(new Object[] {entry(head), 0});
        while (!stack.isEmpty()) {
            Object[] top = stack.pop();
            Object e = top[0];
            int depth = (Integer) top[1];
            b.append("  ".repeat(depth));
            Integer label = seen.get(e);
            if (label != null) {
                b.append(e instanceof Node ? e.toString() : "leaf " + label).append(" (see above)\n");
                continue;
            }
            seen.put(e, seen.size());
            if (!(e instanceof Node)) {
                b.append("leaf ").append(seen.get(e)).append(": ").append(describe(e)).append('\n');
                continue;
            }
            Node<?> n = (Node<?>) e;
            b.append(n).append(" -> ").append(output(n)).append('\n');
            List<Object> in = inputs(n);
            for (int k = in.size() - 1; k >= 0; k--) {
                stack.push(new Object[] {in.get(k), depth + 1});
            }
        }
        return b.toString();
    }
}
