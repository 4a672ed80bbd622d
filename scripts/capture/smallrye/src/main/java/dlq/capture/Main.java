package dlq.capture;

import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
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
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.UUIDDeserializer;

import com.fasterxml.jackson.databind.ObjectMapper;

import io.quarkus.kafka.client.serialization.JsonObjectDeserializer;
import io.quarkus.runtime.Quarkus;
import io.quarkus.runtime.QuarkusApplication;
import io.quarkus.runtime.annotations.QuarkusMain;

/**
 * Makes real SmallRye Reactive Messaging (Quarkus messaging-kafka) dead letters and writes what the
 * application knows to events.ndjson (args: events file; the broker comes from -Dkafka.bootstrap.servers).
 * Before Quarkus starts, the topics are made afresh and the source records produced; then the app's
 * four channels (application.properties: three on failure-strategy=dead-letter-queue, one on
 * delayed-retry-topic) consume them, and the run ends once every DLQ and retry topic holds what the failures
 * must have put there.
 */
@QuarkusMain
public class Main {
  static final String ORDERS = "smallrye-orders";
  static final String PAYMENTS = "smallrye-payments";
  static final String EVENTS = "smallrye-events";
  static final String ORDERS_DLQ = "dead-letter-topic-smallrye-orders"; // the strategy's default name
  static final String PAYMENTS_DLQ = "smallrye-payments-dlq"; // dead-letter-queue.topic
  static final String EVENTS_DLQ = "dead-letter-topic-smallrye-events";
  // failure-strategy=delayed-retry-topic: retry topics must be named <anything>_<delay ms>; they and the DLQ get
  // the failed record's partition, so they need as many partitions as the source.
  static final String RETRIES = "smallrye-retries";
  static final String RETRY_1 = "smallrye-retries_retry_500";
  static final String RETRY_2 = "smallrye-retries_retry_1000";
  static final String RETRIES_DLQ = "smallrye-retries-dlq";
  static final Map<String, Integer> PARTITIONS = Map.of(ORDERS, 3, PAYMENTS, 2, EVENTS, 2, ORDERS_DLQ, 2, PAYMENTS_DLQ, 2, EVENTS_DLQ, 2,
      RETRIES, 2, RETRY_1, 2, RETRY_2, 2, RETRIES_DLQ, 2);
  // r-always: source -> retry_500 -> retry_1000 -> DLQ; r-flaky: source -> retry_500, then succeeds
  static final Map<String, Long> DLQ_RECORDS = Map.of(ORDERS_DLQ, 6L, PAYMENTS_DLQ, 2L, EVENTS_DLQ, 3L, RETRY_1, 2L, RETRY_2, 1L, RETRIES_DLQ, 1L);
  // handler invocations: every orders and payments record, events e-1 and e-4, retries r-ok once, r-flaky twice, r-always 3 times
  static final int HANDLED = 7 + 3 + 2 + 6;

  static String brokers;
  static Path out;

  public static void main(String... args) throws Exception {
    brokers = System.getProperty("kafka.bootstrap.servers");
    out = Path.of(args[0]);
    try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, brokers))) {
      resetTopics(admin);
    }
    produceSources();
    Quarkus.run(App.class, args);
  }

  public static class App implements QuarkusApplication {
    @Override
    public int run(String... args) throws Exception {
      waitForEnds(DLQ_RECORDS, 120_000);
      long deadline = System.currentTimeMillis() + 30_000;
      while (Events.ALL.stream().filter(e -> "attempt".equals(e.get("kind"))).count() < HANDLED) {
        if (System.currentTimeMillis() > deadline) throw new IllegalStateException("handlers ran " + Events.ALL.size() + " times");
        Thread.sleep(200);
      }
      Thread.sleep(1000); // a stray extra delivery would show up as an extra attempt
      ObjectMapper json = new ObjectMapper();
      try (PrintWriter w = new PrintWriter(Files.newBufferedWriter(out, StandardCharsets.UTF_8))) {
        for (Map<String, Object> e : Events.ALL) w.println(json.writeValueAsString(e));
      }
      System.err.println("smallrye capture: " + Events.ALL.size() + " events -> " + out);
      return 0;
    }
  }

  // ------------------------------------------------------------------ topics

  static void resetTopics(Admin admin) throws Exception {
    Set<String> existing = admin.listTopics().names().get().stream().filter(PARTITIONS::containsKey).collect(Collectors.toSet());
    if (!existing.isEmpty()) admin.deleteTopics(existing).all().get();
    List<String> groups = new ArrayList<>();
    for (ConsumerGroupListing g : admin.listConsumerGroups().all().get()) if (g.groupId().startsWith("smallrye-") || g.groupId().startsWith("kafka-delayed-retry-topic-smallrye-")) groups.add(g.groupId());
    if (!groups.isEmpty()) admin.deleteConsumerGroups(groups).all().get();
    long deadline = System.currentTimeMillis() + 60_000;
    while (true) {
      Set<String> made = admin.listTopics().names().get();
      List<NewTopic> todo = PARTITIONS.entrySet().stream().filter(e -> !made.contains(e.getKey()))
          .map(e -> new NewTopic(e.getKey(), e.getValue(), (short) 1)).toList();
      if (todo.isEmpty()) return;
      try {
        admin.createTopics(todo).all().get();
      } catch (ExecutionException e) {
        // A deleted topic lingers for a moment ("marked for deletion"): try again.
        if (!(e.getCause() instanceof TopicExistsException) || System.currentTimeMillis() > deadline) throw e;
        Thread.sleep(500);
      }
    }
  }

  static void waitForEnds(Map<String, Long> want, long timeoutMs) throws Exception {
    long deadline = System.currentTimeMillis() + timeoutMs;
    try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, brokers))) {
      while (true) {
        Map<TopicPartition, OffsetSpec> q = new HashMap<>();
        for (String t : want.keySet()) for (int p = 0; p < PARTITIONS.get(t); p++) q.put(new TopicPartition(t, p), OffsetSpec.latest());
        Map<String, Long> have = new HashMap<>();
        admin.listOffsets(q).all().get().forEach((tp, info) -> have.merge(tp.topic(), info.offset(), Long::sum));
        if (want.entrySet().stream().allMatch(e -> have.getOrDefault(e.getKey(), 0L) >= e.getValue())) return;
        if (System.currentTimeMillis() > deadline) throw new IllegalStateException("timed out: have " + have + ", want " + want);
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

  static void produceSources() throws Exception {
    Map<String, Object> p = Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, brokers, ProducerConfig.ACKS_CONFIG, "all");
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
      // smallrye-orders: StringDeserializer key and value, the @Incoming method throws
      send(producer, "o-ok", ORDERS, 0, utf8("order-1"), utf8("{\"id\":\"o-1\",\"action\":\"ok\"}"), hs("trace-id", "t-0001"));
      send(producer, "o-cause", ORDERS, 0, utf8("order-2"), utf8("{\"id\":\"o-2\",\"action\":\"fail-with-cause\"}"),
          hs("tenant", "acme", "tag", "first", "tag", "second", "note", null, "empty", ""));
      send(producer, "o-nomessage", ORDERS, 1, null, utf8("{\"id\":\"o-3\",\"action\":\"fail-no-message\"}"), hs("trace-id", "t-0003"));
      send(producer, "o-nullmessage-cause", ORDERS, 1, utf8("order-4"), utf8("{\"id\":\"o-4\",\"action\":\"fail-null-message-with-cause\"}"), List.of());
      List<Header> bin = new ArrayList<>(hs("content-type", "application/octet-stream"));
      bin.add(new RecordHeader("raw", new byte[] {0, (byte) 0xff, (byte) 0x80, 'x'}));
      send(producer, "o-binary-key", ORDERS, 2, new byte[] {0, (byte) 0xff, (byte) 0xfe, (byte) 0x80, 'k', '5'},
          utf8("{\"id\":\"o-5\",\"action\":\"fail-binary-key\"}"), bin);
      send(producer, "o-multiline", ORDERS, 2, utf8("order-6"), utf8("{\"id\":\"o-6\",\"sku\":\"Ä-6 ✓\",\"action\":\"fail-multiline\"}"),
          hs("origin", "bücher\r\nshop"));
      send(producer, "o-tombstone", ORDERS, 0, utf8("order-7"), null, hs("trace-id", "t-0007"));
      // smallrye-payments: the method nacks the Message with a reason
      send(producer, "p-ok", PAYMENTS, 0, utf8("pay-1"), utf8("pay-1:ok"), List.of());
      send(producer, "p-nack-cause", PAYMENTS, 0, utf8("pay-2"), utf8("pay-2:reject"), hs("trace-id", "p-0002"));
      send(producer, "p-nack", PAYMENTS, 1, utf8("pay-3"), utf8("pay-3:reject-plain"), hs("h", "1", "h", "2", "nothing", null));
      // smallrye-events: UUIDDeserializer key, JsonObjectDeserializer value, fail-on-deserialization-failure=false
      send(producer, "e-ok", EVENTS, 0, utf8("0b7c3f0e-1a2b-4c3d-8e9f-000000000001"), utf8("{\"id\":\"e-1\",\"n\":1}"), List.of());
      send(producer, "e-bad-value", EVENTS, 0, utf8("0b7c3f0e-1a2b-4c3d-8e9f-000000000002"), utf8("{\"id\":\"e-2\",\"n\":"), hs("source", "web"));
      send(producer, "e-bad-key", EVENTS, 1, utf8("not-a-uuid-3"), utf8("{\"id\":\"e-3\",\"n\":3}"), hs("trace-id", "e-0003"));
      // whitespace in the source JSON: the DLQ producer re-serialises the JsonObject
      send(producer, "e-handler", EVENTS, 1, utf8("0b7c3f0e-1a2b-4c3d-8e9f-000000000004"), utf8("{ \"id\": \"e-4\", \"n\": 4 }"), hs("trace-id", "e-0004"));
      // smallrye-retries: failure-strategy=delayed-retry-topic (2 retry topics, then smallrye-retries-dlq)
      send(producer, "r-ok", RETRIES, 0, utf8("ret-1"), utf8("ret-1:ok"), List.of());
      send(producer, "r-always", RETRIES, 1, utf8("ret-2"), utf8("ret-2:always"), hs("trace-id", "r-0002", "tag", "a", "tag", "b", "nothing", null));
      send(producer, "r-flaky", RETRIES, 0, utf8("ret-3"), utf8("ret-3:flaky"), hs("trace-id", "r-0003"));
      producer.flush();
    }
  }

  static void send(KafkaProducer<byte[], byte[]> producer, String id, String topic, int partition, byte[] key, byte[] value,
      List<Header> headers) throws Exception {
    RecordMetadata md = producer.send(new ProducerRecord<>(topic, partition, null, key, value, headers)).get();
    Map<String, Object> e = new LinkedHashMap<>();
    e.put("kind", "produced");
    e.put("id", id);
    e.put("topic", md.topic());
    e.put("partition", md.partition());
    e.put("offset", Long.toString(md.offset()));
    e.put("timestamp", md.timestamp());
    e.put("key", Events.b64(key));
    e.put("value", Events.b64(value));
    e.put("headers", Events.headersJson(headers));
    if (topic.equals(EVENTS)) {
      // What the channel's deserializers (the same classes, application.properties) throw for these bytes.
      e.put("keyDeserialization", deserialize(new UUIDDeserializer(), topic, key));
      e.put("valueDeserialization", deserialize(new JsonObjectDeserializer(), topic, value));
    }
    Events.ALL.add(e);
  }

  static Map<String, Object> deserialize(Deserializer<?> d, String topic, byte[] data) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("deserializer", d.getClass().getName());
    try {
      d.deserialize(topic, data);
      m.put("error", null);
    } catch (RuntimeException ex) {
      m.put("error", Events.error(ex));
    }
    return m;
  }
}
