/*
 * A local Neo4j 5.26 Community server for foodtrace tests and development.
 *
 * Starts an embedded DatabaseManagementService with the Bolt connector listening
 * on 127.0.0.1:<port>, writes "READY bolt://127.0.0.1:<port>" to standard output
 * once the default database is available, and shuts the DBMS down cleanly from a
 * JVM shutdown hook (SIGTERM from stop.sh, Ctrl-C).
 *
 * Authentication is OFF and Bolt is unencrypted: this server listens on the
 * loopback address only and is meant for tests on one machine. Never expose it.
 *
 * Usage (start.sh does this):
 *   java -cp classes:lib/* Launcher <home-dir> <port> [pagecache-size] [neo4j.conf]
 * pagecache-size is a Neo4j byte size such as 512m or 2g (default 512m); the
 * optional neo4j.conf holds further settings (key=value, Neo4j 5 names).
 * Transaction logs are pruned down to about 100 MB (db.tx_log.rotation.retention_policy).
 */

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.graphdb.GraphDatabaseService;
import org.neo4j.io.ByteUnit;

public final class Launcher {
    private Launcher() {}

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: Launcher <home-dir> <port> [pagecache-size] [neo4j.conf]");
            System.exit(2);
        }
        Path home = Path.of(args[0]).toAbsolutePath();
        int port = Integer.parseInt(args[1]);
        String pagecache = args.length > 2 && !args[2].isEmpty() ? args[2] : "512m";
        Files.createDirectories(home);

        long started = System.nanoTime();
        DatabaseManagementServiceBuilder builder = new DatabaseManagementServiceBuilder(home);
        // a test server: keep little transaction log (the default keeps two days of it)
        builder.setConfig(GraphDatabaseSettings.keep_logical_logs, "100M size");
        if (args.length > 3 && !args[3].isEmpty()) {
            builder.loadPropertiesFromFile(Path.of(args[3]));
        }
        builder.setConfig(BoltConnector.enabled, true)
               .setConfig(BoltConnector.listen_address, new SocketAddress("127.0.0.1", port))
               .setConfig(BoltConnector.encryption_level, BoltConnector.EncryptionLevel.DISABLED)
               .setConfig(GraphDatabaseSettings.auth_enabled, false)
               .setConfig(GraphDatabaseSettings.pagecache_memory, ByteUnit.parse(pagecache));
        DatabaseManagementService dbms = builder.build();

        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.out.println("shutting down");
            System.out.flush();
            dbms.shutdown();
            stopped.countDown();
        }, "neo4j-shutdown"));

        GraphDatabaseService db = dbms.database(GraphDatabaseSettings.DEFAULT_DATABASE_NAME);
        if (!db.isAvailable(TimeUnit.MINUTES.toMillis(2))) {
            System.err.println("the default database did not become available within 2 minutes");
            System.exit(1);
        }
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
        System.out.println("READY bolt://127.0.0.1:" + port + " pid " + ProcessHandle.current().pid()
                + " home " + home + " pagecache " + pagecache + " in " + ms + " ms");
        System.out.flush();
        stopped.await();
    }
}
