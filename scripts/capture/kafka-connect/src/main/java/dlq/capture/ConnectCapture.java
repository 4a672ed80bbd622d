package dlq.capture;

import java.io.File;
import java.io.PrintWriter;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ConsumerGroupListing;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.connect.data.SchemaAndValue;
import org.apache.kafka.connect.json.JsonConverter;
import org.apache.kafka.connect.sink.SinkRecord;
import org.apache.kafka.connect.storage.SimpleHeaderConverter;
import org.apache.kafka.connect.transforms.ExtractField;

import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * Makes real Kafka Connect 4.1 dead letters: produces good and bad records to connect-orders, runs
 * ConnectStandalone (a child JVM on the same classpath) with a FileStreamSink whose converters and
 * transforms (RejectFlagged, ExtractField) fail on the bad ones (errors.tolerance=all, DLQ with context headers), waits
 * for the DLQ to hold every expected failure, stops the worker, and writes events.ndjson: each source
 * record as produced (with the broker's ack) and what Connect's own JsonConverter / transforms throw
 * when given exactly those bytes in this JVM (the stage Connect fails them in). join.py adds Connect's
 * own account from its error log (errors.log.enable) and joins it all to the dumped DLQ.
 */
public final class ConnectCapture {
  static final String TOPIC = "connect-orders";
  static final String DLQ = "connect-orders-dlq";
  static final String CONNECTOR = "connect-orders-sink";
  static final String GROUP = "connect-" + CONNECTOR;

  static String brokers;
  static final List<Map<String, Object>> events = new ArrayList<>();

  public static void main(String[] args) throws Exception {
    brokers = args[0];
    Path work = Path.of(args[1]);
    Path log4j = Path.of(args[2]);
    Files.createDirectories(work);
    Path sinkFile = work.resolve("sink.txt");
    Files.deleteIfExists(sinkFile);
    Files.deleteIfExists(work.resolve("offsets"));
    try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, brokers))) {
      resetTopics(admin);
    }
    produceSources();
    long failures = events.stream().filter(e -> e.get("expected") != null).count();
    long good = events.size() - failures;

    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    Path worker = work.resolve("worker.properties");
    Files.writeString(worker, String.join("\n",
        "bootstrap.servers=" + brokers,
        "listeners=http://127.0.0.1:" + port,
        "offset.storage.file.filename=" + work.resolve("offsets"),
        "key.converter=org.apache.kafka.connect.json.JsonConverter",
        "key.converter.schemas.enable=false",
        "value.converter=org.apache.kafka.connect.json.JsonConverter",
        "value.converter.schemas.enable=true",
        "plugin.discovery=only_scan",
        "") );
    Path sink = work.resolve("sink.properties");
    Files.writeString(sink, String.join("\n",
        "name=" + CONNECTOR,
        "connector.class=org.apache.kafka.connect.file.FileStreamSinkConnector",
        "tasks.max=1",
        "topics=" + TOPIC,
        "file=" + sinkFile,
        "transforms=reject,extractId",
        "transforms.reject.type=dlq.capture.RejectFlagged",
        "transforms.extractId.type=org.apache.kafka.connect.transforms.ExtractField$Value",
        "transforms.extractId.field=id",
        "errors.tolerance=all",
        "errors.log.enable=true",
        "errors.log.include.messages=true",
        "errors.deadletterqueue.topic.name=" + DLQ,
        "errors.deadletterqueue.context.headers.enable=true",
        "errors.deadletterqueue.topic.replication.factor=1",
        ""));
    Path log = work.resolve("connect.log");
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Process connect = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), "-Xmx384m",
        "-Dlog4j2.configurationFile=" + log4j.toAbsolutePath(),
        "org.apache.kafka.connect.cli.ConnectStandalone", worker.toString(), sink.toString())
        .redirectErrorStream(true).redirectOutput(log.toFile()).start();
    try {
      waitFor(failures, good, sinkFile, connect, 180_000);
    } finally {
      connect.destroy(); // SIGTERM: the worker stops its task and commits
      if (!connect.waitFor(30, TimeUnit.SECONDS)) connect.destroyForcibly().waitFor();
    }
    ObjectMapper json = new ObjectMapper();
    try (PrintWriter w = new PrintWriter(Files.newBufferedWriter(work.resolve("events.ndjson"), StandardCharsets.UTF_8))) {
      for (Map<String, Object> e : events) w.println(json.writeValueAsString(e));
    }
    System.err.println("connect capture: " + events.size() + " sources (" + failures + " expected in the DLQ) -> " + work);
  }

  static void waitFor(long failures, long good, Path sinkFile, Process connect, long timeoutMs) throws Exception {
    long deadline = System.currentTimeMillis() + timeoutMs;
    try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, brokers))) {
      while (true) {
        long dlq = admin.listOffsets(Map.of(new TopicPartition(DLQ, 0), OffsetSpec.latest())).all().get()
            .values().iterator().next().offset();
        long lines = Files.exists(sinkFile) ? Files.readAllLines(sinkFile).size() : 0;
        if (dlq >= failures && lines >= good) return;
        if (!connect.isAlive()) throw new IllegalStateException("ConnectStandalone exited (" + connect.exitValue() + "); see connect.log");
        if (System.currentTimeMillis() > deadline)
          throw new IllegalStateException("timed out: DLQ " + dlq + "/" + failures + ", sink lines " + lines + "/" + good);
        Thread.sleep(500);
      }
    }
  }

  static void resetTopics(Admin admin) throws Exception {
    Set<String> existing = admin.listTopics().names().get().stream()
        .filter(t -> t.equals(TOPIC) || t.equals(DLQ)).collect(Collectors.toSet());
    if (!existing.isEmpty()) admin.deleteTopics(existing).all().get();
    List<String> groups = new ArrayList<>();
    for (ConsumerGroupListing g : admin.listConsumerGroups().all().get()) if (g.groupId().equals(GROUP)) groups.add(g.groupId());
    if (!groups.isEmpty()) admin.deleteConsumerGroups(groups).all().get();
    long deadline = System.currentTimeMillis() + 60_000;
    while (true) {
      try {
        admin.createTopics(List.of(new NewTopic(TOPIC, 2, (short) 1), new NewTopic(DLQ, 1, (short) 1))).all().get();
        return;
      } catch (ExecutionException e) {
        if (!(e.getCause() instanceof TopicExistsException) || System.currentTimeMillis() > deadline) throw e;
        if (admin.listTopics().names().get().containsAll(List.of(TOPIC, DLQ))) return;
        Thread.sleep(500);
      }
    }
  }

  // ----------------------------------------------------------------- sources

  static byte[] utf8(String s) {
    return s == null ? null : s.getBytes(StandardCharsets.UTF_8);
  }

  static List<Header> hs(String... kv) {
    List<Header> l = new ArrayList<>();
    for (int i = 0; i < kv.length; i += 2) l.add(new RecordHeader(kv[i], utf8(kv[i + 1])));
    return l;
  }

  static String envelope(String id, int qty) {
    return "{\"schema\":{\"type\":\"struct\",\"fields\":[{\"field\":\"id\",\"type\":\"string\",\"optional\":false},"
        + "{\"field\":\"qty\",\"type\":\"int32\",\"optional\":false}],\"optional\":false,\"name\":\"order\"},"
        + "\"payload\":{\"id\":\"" + id + "\",\"qty\":" + qty + "}}";
  }

  static void produceSources() throws Exception {
    Map<String, Object> p = Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, brokers, ProducerConfig.ACKS_CONFIG, "all");
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
      send(producer, "good-1", 0, utf8("\"c-1\""), utf8(envelope("c-1", 2)), hs("trace-id", "c-0001"));
      send(producer, "bad-json", 0, utf8("\"c-2\""), utf8("{\"schema\":{\"type\":\"string\"},\"payload\":"), hs("tenant", "acme"));
      send(producer, "binary", 1, null, new byte[] {0, 1, (byte) 0xfe, (byte) 0xff, (byte) 0x80, 'c', '-', '3'}, List.of());
      send(producer, "no-envelope", 0, utf8("\"c-4\""), utf8("{\"id\":\"c-4\",\"qty\":1}"), hs("trace-id", "c-0004"));
      send(producer, "null-headers", 1, utf8("\"c-5\""), utf8("{\"schema\":{\"type\":\"int32\",\"optional\":false},\"payload\":\"c-5\"}"),
          hs("tag", "first", "nothing", null, "tag", "second", "empty", ""));
      send(producer, "crlf", 0, utf8("\"c-6\""), utf8("{\"schema\":{\"type\":\"string\",\"optional\":false},\"payload\":\"line one\r\nline two c-6\"}"),
          hs("origin", "bücher\r\nshop"));
      send(producer, "bad-key", 1, utf8("c-7 is not json"), utf8(envelope("c-7", 3)), hs("trace-id", "c-0007"));
      send(producer, "good-null-header", 1, utf8("{\"id\":\"c-8\"}"), utf8(envelope("c-8", 4)), hs("nothing", null));
      send(producer, "transform", 0, utf8("\"c-9\""), utf8("{\"schema\":{\"type\":\"string\",\"optional\":false},\"payload\":\"c-9 is a string, not a struct\"}"),
          hs("trace-id", "c-0009"));
      send(producer, "empty-value", 1, utf8("\"c-10\""), new byte[0], hs("trace-id", "c-0010"));
      send(producer, "good-2", 0, null, utf8(envelope("c-11", 5)), List.of());
      send(producer, "smt-null-message", 0, utf8("\"c-12\""), utf8(envelope("c-12", 6)), hs("reject", "null-message"));
      send(producer, "smt-multiline", 1, utf8("\"c-13\""), utf8(envelope("c-13", 7)), hs("reject", "multiline"));
      producer.flush();
    }
  }

  static void send(KafkaProducer<byte[], byte[]> producer, String id, int partition, byte[] key, byte[] value, List<Header> headers)
      throws Exception {
    RecordMetadata md = producer.send(new ProducerRecord<>(TOPIC, partition, null, key, value, headers)).get();
    Map<String, Object> e = new LinkedHashMap<>();
    e.put("kind", "produced");
    e.put("id", id);
    e.put("topic", md.topic());
    e.put("partition", md.partition());
    e.put("offset", Long.toString(md.offset()));
    e.put("timestamp", md.timestamp());
    e.put("key", b64(key));
    e.put("value", b64(value));
    e.put("headers", headersJson(headers));
    e.put("expected", expectedFailure(md, key, value, headers));
    events.add(e);
  }

  /**
   * What the worker's stages throw for this record, in Connect's order (WorkerSinkTask: key converter,
   * value converter, header converter, transformations), computed with the same classes and settings.
   */
  static Map<String, Object> expectedFailure(RecordMetadata md, byte[] key, byte[] value, List<Header> headers) {
    RecordHeaders h = new RecordHeaders(headers.toArray(new Header[0]));
    JsonConverter keyConv = new JsonConverter();
    keyConv.configure(Map.of("schemas.enable", "false"), true);
    JsonConverter valueConv = new JsonConverter();
    valueConv.configure(Map.of("schemas.enable", "true"), false);
    SchemaAndValue k;
    try {
      k = keyConv.toConnectData(md.topic(), h, key);
    } catch (Exception ex) {
      return failure("KEY_CONVERTER", JsonConverter.class.getName(), ex);
    }
    SchemaAndValue v;
    try {
      v = valueConv.toConnectData(md.topic(), h, value);
    } catch (Exception ex) {
      return failure("VALUE_CONVERTER", JsonConverter.class.getName(), ex);
    }
    SimpleHeaderConverter hc = new SimpleHeaderConverter();
    hc.configure(Map.of());
    try {
      for (Header x : headers) hc.toConnectHeader(md.topic(), x.key(), x.value());
    } catch (Exception ex) {
      return failure("HEADER_CONVERTER", SimpleHeaderConverter.class.getName(), ex);
    }
    SinkRecord r = new SinkRecord(md.topic(), md.partition(), k.schema(), k.value(), v.schema(), v.value(), md.offset(), md.timestamp(),
        TimestampType.CREATE_TIME);
    for (Header x : headers) r.headers().add(x.key(), hc.toConnectHeader(md.topic(), x.key(), x.value()));
    try (RejectFlagged<SinkRecord> t = new RejectFlagged<>()) {
      r = t.apply(r);
    } catch (Exception ex) {
      return failure("TRANSFORMATION", RejectFlagged.class.getName(), ex);
    }
    try (ExtractField.Value<SinkRecord> t = new ExtractField.Value<>()) {
      t.configure(Map.of("field", "id"));
      t.apply(r);
    } catch (Exception ex) {
      return failure("TRANSFORMATION", ExtractField.Value.class.getName(), ex);
    }
    return null;
  }

  static Map<String, Object> failure(String stage, String className, Exception ex) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("stage", stage);
    m.put("class", className);
    m.put("error", error(ex));
    return m;
  }

  static Map<String, Object> error(Throwable t) {
    if (t == null) return null;
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("class", t.getClass().getName());
    m.put("message", t.getMessage());
    m.put("cause", error(t.getCause()));
    return m;
  }

  static String b64(byte[] b) {
    return b == null ? null : Base64.getEncoder().encodeToString(b);
  }

  static List<Map<String, Object>> headersJson(Iterable<Header> headers) {
    List<Map<String, Object>> l = new ArrayList<>();
    for (Header x : headers) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("key", x.key());
      m.put("value", b64(x.value()));
      l.add(m);
    }
    return l;
  }

  private ConnectCapture() {}
}
