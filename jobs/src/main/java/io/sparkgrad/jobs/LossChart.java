package io.sparkgrad.jobs;

import org.knowm.xchart.AnnotationText;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.XYStyler;
import org.knowm.xchart.style.markers.SeriesMarkers;

import java.awt.Color;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Draws a training-loss curve (x: iteration 1..n, y: loss) as an 800x500 PNG with XChart.
 *
 * <p>It draws on an image only, so it works on a headless JVM. The y axis is logarithmic when
 * every finite loss is positive and they span more than two decades (max/min &gt; 100), linear
 * otherwise. NaN and infinite losses break the line (a gap) and are left out of the axis range; a
 * chart with no finite loss shows empty axes and a note. Up to 50 points each get a marker.
 */
public final class LossChart {
    static final int WIDTH = 800;
    static final int HEIGHT = 500;

    /** The colour of the curve and its markers; nothing else on the chart uses it. */
    static final Color CURVE = new Color(0x15, 0x65, 0xC0);

    /** Point markers are drawn on every point up to this many points. */
    private static final int MARKER_LIMIT = 50;

    private LossChart() {
    }

    /**
     * Writes the loss curve {@code loss[0..n-1]}, plotted at iterations 1..n, to {@code png}
     * (parent directories are created).
     *
     * @param png   the file to write
     * @param title drawn at the top; null draws no title
     * @param loss  the loss of each iteration, at least one value (NaN and infinities allowed)
     */
    public static void write(Path png, String title, double[] loss) {
        if (png == null) {
            throw new IllegalArgumentException("LossChart.write: png path is null");
        }
        if (loss == null || loss.length == 0) {
            throw new IllegalArgumentException("LossChart.write: loss array is " + (loss == null ? "null" : "empty"));
        }
        XYChart chart = chart(title, loss);
        try {
            if (png.toAbsolutePath().getParent() != null) {
                Files.createDirectories(png.toAbsolutePath().getParent());
            }
            try (OutputStream out = Files.newOutputStream(png)) {
                BitmapEncoder.saveBitmap(chart, out, BitmapEncoder.BitmapFormat.PNG);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("LossChart.write: cannot write " + png, e);
        }
    }

    /** True when every finite loss is positive and the largest is more than 100 times the smallest. */
    static boolean logScale(double[] loss) {
        double min = Double.POSITIVE_INFINITY;
        double max = Double.NEGATIVE_INFINITY;
        for (double v : loss) {
            if (Double.isFinite(v)) {
                if (v <= 0) {
                    return false;
                }
                min = Math.min(min, v);
                max = Math.max(max, v);
            }
        }
        return min <= max && max / min > 100;
    }

    private static XYChart chart(String title, double[] loss) {
        XYChart chart = new XYChartBuilder().width(WIDTH).height(HEIGHT).title(title == null ? "" : title)
            .xAxisTitle("iteration").yAxisTitle("loss").build();
        XYStyler style = chart.getStyler();
        style.setChartBackgroundColor(Color.WHITE);
        style.setPlotBackgroundColor(Color.WHITE);
        style.setPlotBorderVisible(false);
        style.setChartTitleBoxVisible(false);
        style.setLegendVisible(false);
        style.setAntiAlias(true);
        style.setYAxisLogarithmic(logScale(loss));
        style.setXAxisDecimalPattern("#"); // iterations are whole numbers

        // a null y is a gap in XChart's line: NaN and infinities become gaps
        List<Integer> xs = new ArrayList<>(loss.length);
        List<Double> ys = new ArrayList<>(loss.length);
        int finite = 0;
        for (int i = 0; i < loss.length; i++) {
            xs.add(i + 1);
            boolean ok = Double.isFinite(loss[i]);
            ys.add(ok ? loss[i] : null);
            finite += ok ? 1 : 0;
        }
        if (finite == 0) {
            // empty axes over the iterations, and a note in the middle
            style.setXAxisMin(1.0);
            style.setXAxisMax((double) Math.max(2, loss.length));
            style.setYAxisMin(0.0);
            style.setYAxisMax(1.0);
            XYSeries none = chart.addSeries("loss", new double[] {1}, new double[] {0.5});
            none.setMarker(SeriesMarkers.NONE);
            none.setLineColor(new Color(0, 0, 0, 0));
            chart.addAnnotation(new AnnotationText("no finite loss to draw", (1 + Math.max(2, loss.length)) / 2.0, 0.5,
                false));
            style.setAnnotationTextFontColor(Color.DARK_GRAY);
            return chart;
        }
        XYSeries s = chart.addSeries("loss", xs, ys);
        s.setLineColor(CURVE);
        s.setMarkerColor(CURVE);
        s.setMarker(loss.length <= MARKER_LIMIT ? SeriesMarkers.CIRCLE : SeriesMarkers.NONE);
        if (loss.length == 1) {
            style.setXAxisMin(0.0);
            style.setXAxisMax(2.0);
        }
        return chart;
    }
}
