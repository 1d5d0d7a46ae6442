package io.sparkgrad.dist;

import io.sparkgrad.autograd.Autograd;
import io.sparkgrad.np.NDArray;
import io.sparkgrad.np.Np;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;

/**
 * The Spark session shared by every test in this JVM (starting one costs seconds, reusing it
 * nothing): {@code local[2,4]} (two cores, up to four attempts per task) on loopback, Kryo with
 * registration required (unless the system property spark.kryo.registrationRequired says false), no UI.
 */
public final class SparkTests {
    private SparkTests() {}

    public static synchronized SparkSession session() {
        SparkSession s = SparkSession.getDefaultSession().isDefined() ? SparkSession.getDefaultSession().get() : null;
        if (s == null || s.sparkContext().isStopped()) {
            SparkConf conf = Dist.configure(new SparkConf())
                .setMaster("local[2,4]") // 2 cores; a task may fail 3 times before its job does
                .setAppName("sparkgrad-tests")
                // strict unless the run says otherwise (the io.sparkgrad.ml tests: MLlib and Spark SQL
                // ship classes of their own, see the driver pom)
                .setIfMissing("spark.kryo.registrationRequired", "true")
                .set("spark.driver.host", "127.0.0.1")
                .set("spark.driver.bindAddress", "127.0.0.1")
                .set("spark.ui.enabled", "false")
                .set("spark.sql.shuffle.partitions", "4");
            s = SparkSession.builder().config(conf).getOrCreate();
            s.sparkContext().setLogLevel("WARN");
        }
        Dist.use(s);
        return s;
    }

    /**
     * The loss and the weights' gradient of logistic regression with an L2 term over rows {@code x}
     * and targets {@code t}, from fresh weights holding {@code w0}'s values in its type.
     */
    static NDArray[] logistic(NDArray x, NDArray t, NDArray w0) {
        NDArray w = Np.array(w0.shape(), w0.toArray(), w0.dtype());
        w.attachGrad();
        NDArray loss;
        try (var r = Autograd.record()) {
            loss = Np.binaryCrossEntropyWithLogits(x.matmul(w), t).add(w.square().sum().mul(0.01));
        }
        loss.backward();
        return new NDArray[] {loss.toLocal(), w.grad().toLocal()};
    }
}
