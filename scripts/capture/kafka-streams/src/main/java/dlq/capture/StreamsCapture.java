package dlq.capture;

import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.stream.Collectors;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ConsumerGroupListing;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.LongDeserializer;
import org.apache.kafka.common.serialization.LongSerializer;
import org.apache.kafka.common.utils.Utils;
import org.apache.kafka.connect.json.JsonDeserializer;
import org.apache.kafka.connect.json.JsonSerializer;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.errors.LogAndContinueExceptionHandler;
import org.apache.kafka.streams.errors.LogAndContinueProcessingExceptionHandler;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * Makes real Kafka Streams (KIP-1034) dead letters: produces good and bad records to kafka-streams-orders
 * (3 partitions), runs a KafkaStreams application whose Topology is source (key LongDeserializer, value
 * connect-json JsonDeserializer) → "enrich" → "price" → sink, with errors.dead.letter.queue.topic.name and
 * the built-in LogAndContinueExceptionHandler / LogAndContinueProcessingExceptionHandler, waits until the
 * DLQ holds every expected failure and the sink every good record, closes the application and writes
 * events.ndjson: each source record as produced (with the broker's ack), each exception a deserializer
 * threw (for which bytes, when) and each exception a processor threw (for which source record, with the
 * record as that processor saw it, when). join.py joins them to the dumped DLQ.
 */
public final class StreamsCapture {
  static final String TOPIC = "kafka-streams-orders";
  static final String DLQ = "kafka-streams-orders-dlq";
  static final String OUT = "kafka-streams-orders-out";
  static final String APP = "kafka-streams-capture";
  static final int DLQ_PARTITIONS = 2;
  // A second application with the default handlers (LogAndFail*): each failure dead-letters, then stops it.
  static final String PAY = "kafka-streams-payments";
  static final String PAY_DLQ = "kafka-streams-payments-dlq";
  static final String PAY_APP = "kafka-streams-capture-failing";
  static final int PAY_RUNS = 2;
  /** Which application run a recorded failure belongs to. */
  static volatile String currentRun = "orders";

  static String brokers;
  static final List<Map<String, Object>> events = Collections.synchronizedList(new ArrayList<>());
  static final ObjectMapper json = new ObjectMapper();

  public static void main(String[] args) throws Exception {
    brokers = args[0];
    Path work = Path.of(args[1]);
    Files.createDirectories(work);
    Path state = Files.createTempDirectory(work, "state-");
    try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, brokers))) {
      resetTopics(admin);
    }
    produceSources();
    List<Map<String, Object>> orders = events.stream().filter(e -> TOPIC.equals(e.get("topic"))).toList();
    long failures = orders.stream().filter(e -> e.get("expect").equals("dlq")).count();
    long outputs = orders.stream().filter(e -> !e.get("expect").equals("dlq") || e.get("id").equals("emit-then-fail")).count();

    Properties p = new Properties();
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, APP);
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, brokers);
    p.put(StreamsConfig.STATE_DIR_CONFIG, state.toString());
    p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, 1);
    p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 500);
    p.put(StreamsConfig.consumerPrefix(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG), "earliest");
    // KIP-1034: the built-in handlers build a DLQ record when this is set, then resume.
    p.put(StreamsConfig.ERRORS_DEAD_LETTER_QUEUE_TOPIC_NAME_CONFIG, DLQ);
    p.put(StreamsConfig.DESERIALIZATION_EXCEPTION_HANDLER_CLASS_CONFIG, LogAndContinueExceptionHandler.class);
    p.put(StreamsConfig.PROCESSING_EXCEPTION_HANDLER_CLASS_CONFIG, LogAndContinueProcessingExceptionHandler.class);

    Topology t = new Topology();
    t.addSource("orders-source", new Recording<>("key", new LongDeserializer()), new Recording<>("value", new JsonDeserializer()), TOPIC);
    t.addProcessor("enrich", Enrich::new, "orders-source");
    t.addProcessor("price", Price::new, "enrich");
    t.addSink("orders-sink", OUT, new LongSerializer(), new JsonSerializer(), "price");

    long startedAt = System.currentTimeMillis();
    KafkaStreams streams = new KafkaStreams(t, p);
    streams.setUncaughtExceptionHandler(e -> {
      e.printStackTrace();
      return org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
    });
    try {
      streams.start();
      waitFor(failures, outputs, streams, 180_000);
    } finally {
      streams.close(Duration.ofSeconds(30));
    }
    Map<String, Object> run = new LinkedHashMap<>();
    run.put("kind", "run");
    run.put("startedAt", startedAt);
    run.put("applicationId", APP);
    run.put("dlqPartitions", DLQ_PARTITIONS);
    run.put("streamsVersion", KafkaStreams.class.getPackage().getImplementationVersion());
    events.add(run);
    for (int n = 1; n <= PAY_RUNS; n++) runFailing(n, state);
    try (PrintWriter w = new PrintWriter(Files.newBufferedWriter(work.resolve("events.ndjson"), StandardCharsets.UTF_8))) {
      synchronized (events) {
        for (Map<String, Object> e : events) w.println(json.writeValueAsString(e));
      }
    }
    System.err.println("kafka-streams capture: " + failures + " expected in the DLQ, " + outputs + " in " + OUT + " -> " + work);
  }

  /**
   * Runs the payments application (default handlers: LogAndFailExceptionHandler) until the bad record stops it.
   * Its offset is not committed, so the next run reads it again and dead-letters it again.
   */
  static void runFailing(int n, Path state) throws Exception {
    currentRun = "payments-" + n;
    Properties p = new Properties();
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, PAY_APP);
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, brokers);
    p.put(StreamsConfig.STATE_DIR_CONFIG, state.toString());
    p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, 1);
    p.put(StreamsConfig.consumerPrefix(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG), "earliest");
    p.put(StreamsConfig.ERRORS_DEAD_LETTER_QUEUE_TOPIC_NAME_CONFIG, PAY_DLQ);
    Topology t = new Topology();
    t.addSource("payments-source", new Recording<>("key", new LongDeserializer()), new Recording<>("value", new JsonDeserializer()), PAY);
    t.addProcessor("settle", Settle::new, "payments-source");
    long startedAt = System.currentTimeMillis();
    KafkaStreams streams = new KafkaStreams(t, p);
    streams.setUncaughtExceptionHandler(e -> org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT);
    KafkaStreams.State end;
    try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, brokers))) {
      streams.start();
      long deadline = System.currentTimeMillis() + 120_000;
      while (streams.state() != KafkaStreams.State.ERROR && streams.state() != KafkaStreams.State.NOT_RUNNING) {
        if (System.currentTimeMillis() > deadline) throw new IllegalStateException("payments run " + n + ": still " + streams.state());
        Thread.sleep(200);
      }
      end = streams.state();
      streams.close(Duration.ofSeconds(30));
      long dlq = endOffsets(admin, PAY_DLQ, 1);
      if (dlq != n) throw new IllegalStateException("payments run " + n + ": " + PAY_DLQ + " holds " + dlq + " records");
    }
    Map<String, Object> run = new LinkedHashMap<>();
    run.put("kind", "failing-run");
    run.put("run", currentRun);
    run.put("applicationId", PAY_APP);
    run.put("startedAt", startedAt);
    run.put("endState", end.toString());
    events.add(run);
  }

  // ----------------------------------------------------------------- the application's own code

  /** A deserializer as an application would wrap one to log what it rejects: records what it threw, rethrows it unchanged. */
  static final class Recording<T> implements Deserializer<T> {
    final String side;
    final Deserializer<T> inner;

    Recording(String side, Deserializer<T> inner) {
      this.side = side;
      this.inner = inner;
    }

    @Override
    public T deserialize(String topic, byte[] data) {
      return deserialize(topic, new RecordHeaders(), data);
    }

    @Override
    public T deserialize(String topic, Headers headers, byte[] data) {
      try {
        return inner.deserialize(topic, headers, data);
      } catch (RuntimeException e) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("kind", "deserializer-threw");
        m.put("run", currentRun);
        m.put("side", side);
        m.put("deserializer", inner.getClass().getName());
        m.put("topic", topic);
        m.put("bytes", b64(data));
        m.put("headers", headersJson(headers));
        m.put("error", error(e));
        m.put("at", System.currentTimeMillis());
        events.add(m);
        throw e;
      }
    }
  }

  /** Settles a payment (nothing to do here: the capture is about the record that never gets this far). */
  static final class Settle implements Processor<Long, JsonNode, Void, Void> {
    @Override
    public void process(Record<Long, JsonNode> r) {}
  }

  /** Marks orders with "enrich": a header is added and the record time moved on, as an enrichment step would. */
  static final class Enrich implements Processor<Long, JsonNode, Long, JsonNode> {
    ProcessorContext<Long, JsonNode> ctx;

    @Override
    public void init(ProcessorContext<Long, JsonNode> context) {
      ctx = context;
    }

    @Override
    public void process(Record<Long, JsonNode> r) {
      if (r.value().path("enrich").asBoolean(false)) {
        Headers h = new RecordHeaders(r.headers().toArray());
        h.add("enriched-by", utf8("enrich"));
        ctx.forward(r.withHeaders(h).withTimestamp(r.timestamp() + 1000));
      } else {
        ctx.forward(r);
      }
    }
  }

  /** Prices an order; throws for the bad ones, recording what it throws and for which source record. */
  static final class Price implements Processor<Long, JsonNode, Long, JsonNode> {
    ProcessorContext<Long, JsonNode> ctx;

    @Override
    public void init(ProcessorContext<Long, JsonNode> context) {
      ctx = context;
    }

    @Override
    public void process(Record<Long, JsonNode> r) {
      JsonNode v = r.value();
      String id = v.path("id").asText();
      String fail = v.path("fail").asText("");
      if (fail.equals("null-message")) throw threw(r, new UnsupportedOperationException());
      int amount;
      try {
        amount = Integer.parseInt(v.path("amount").asText());
      } catch (NumberFormatException e) {
        throw threw(r, new IllegalStateException("cannot price order " + id, e));
      }
      int qty = v.path("qty").asInt();
      if (qty <= 0) throw threw(r, new IllegalArgumentException("quantity must be positive, got " + qty + " for order " + id));
      if (fail.equals("emit-then-fail")) {
        // The order is sent on (to the sink) before the failure: a partial output, then the exception.
        ctx.forward(r);
        throw threw(r, new IllegalStateException("order " + id + " was emitted, then its audit failed"));
      }
      if (amount < 0) throw threw(r, new IllegalArgumentException("negative amount for " + id));
      ctx.forward(r);
    }

    RuntimeException threw(Record<Long, JsonNode> r, RuntimeException e) {
      RecordMetadata md = ctx.recordMetadata().orElseThrow();
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("kind", "processor-threw");
      m.put("processor", "price");
      m.put("taskId", ctx.taskId().toString());
      m.put("topic", md.topic());
      m.put("partition", md.partition());
      m.put("offset", Long.toString(md.offset()));
      m.put("recordTimestamp", r.timestamp());
      m.put("recordHeaders", headersJson(r.headers()));
      m.put("error", error(e));
      m.put("at", System.currentTimeMillis());
      events.add(m);
      return e;
    }
  }

  // ----------------------------------------------------------------- run

  static void waitFor(long failures, long outputs, KafkaStreams streams, long timeoutMs) throws Exception {
    long deadline = System.currentTimeMillis() + timeoutMs;
    try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, brokers))) {
      while (true) {
        long dlq = endOffsets(admin, DLQ, DLQ_PARTITIONS);
        long out = endOffsets(admin, OUT, 1);
        if (dlq >= failures && out >= outputs) return;
        if (streams.state() == KafkaStreams.State.ERROR || streams.state() == KafkaStreams.State.NOT_RUNNING)
          throw new IllegalStateException("KafkaStreams is " + streams.state());
        if (System.currentTimeMillis() > deadline)
          throw new IllegalStateException("timed out: DLQ " + dlq + "/" + failures + ", " + OUT + " " + out + "/" + outputs);
        Thread.sleep(500);
      }
    }
  }

  static long endOffsets(Admin admin, String topic, int partitions) throws Exception {
    Map<TopicPartition, OffsetSpec> q = new LinkedHashMap<>();
    for (int i = 0; i < partitions; i++) q.put(new TopicPartition(topic, i), OffsetSpec.latest());
    return admin.listOffsets(q).all().get().values().stream().mapToLong(x -> x.offset()).sum();
  }

  static void resetTopics(Admin admin) throws Exception {
    List<String> ours = List.of(TOPIC, DLQ, OUT, PAY, PAY_DLQ);
    Set<String> existing = admin.listTopics().names().get().stream().filter(ours::contains).collect(Collectors.toSet());
    if (!existing.isEmpty()) admin.deleteTopics(existing).all().get();
    List<String> groups = new ArrayList<>();
    for (ConsumerGroupListing g : admin.listConsumerGroups().all().get()) if (g.groupId().equals(APP) || g.groupId().equals(PAY_APP)) groups.add(g.groupId());
    if (!groups.isEmpty()) admin.deleteConsumerGroups(groups).all().get();
    long deadline = System.currentTimeMillis() + 60_000;
    while (true) {
      try {
        // The DLQ is not created by Kafka Streams (it is no internal topic): made here, with 2 partitions, to see where records go.
        admin.createTopics(List.of(new NewTopic(TOPIC, 3, (short) 1), new NewTopic(DLQ, DLQ_PARTITIONS, (short) 1), new NewTopic(OUT, 1, (short) 1),
            new NewTopic(PAY, 1, (short) 1), new NewTopic(PAY_DLQ, 1, (short) 1)))
            .all().get();
        return;
      } catch (ExecutionException e) {
        if (!(e.getCause() instanceof TopicExistsException) || System.currentTimeMillis() > deadline) throw e;
        Thread.sleep(500);
      }
    }
  }

  // ----------------------------------------------------------------- sources

  static byte[] utf8(String s) {
    return s == null ? null : s.getBytes(StandardCharsets.UTF_8);
  }

  static byte[] long8(long v) {
    return new LongSerializer().serialize(TOPIC, v);
  }

  static List<Header> hs(String... kv) {
    List<Header> l = new ArrayList<>();
    for (int i = 0; i < kv.length; i += 2) l.add(new RecordHeader(kv[i], utf8(kv[i + 1])));
    return l;
  }

  static void produceSources() throws Exception {
    Map<String, Object> p = Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, brokers, ProducerConfig.ACKS_CONFIG, "all");
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
      // partition 0
      send(producer, "good-1", "out", 0, long8(1), utf8("{\"id\":\"s-1\",\"qty\":2,\"amount\":\"10\"}"), hs("trace-id", "s-0001"));
      send(producer, "bad-json", "dlq", 0, long8(2), utf8("{\"id\":\"s-2\",\"qty\":"), hs("trace-id", "s-0002", "tenant", "acme"));
      send(producer, "binary-value", "dlq", 0, null, new byte[] {0, 1, (byte) 0xfe, (byte) 0xff, (byte) 0x80, '\r', '\n', 's', '-', '3'},
          hs("trace-id", "s-0003", "content-type", "application/octet-stream", "empty", ""));
      // partition 1
      send(producer, "bad-key", "dlq", 1, utf8("s-4"), utf8("{\"id\":\"s-4\",\"qty\":1,\"amount\":\"5\"}"), hs("trace-id", "s-0004"));
      send(producer, "negative", "dlq", 1, new byte[] {0, (byte) 0xff, (byte) 0x80, '\r', '\n', 0x7f, 1, 5},
          utf8("{\"id\":\"s-5\",\"qty\":-1,\"amount\":\"3\"}"), hs("trace-id", "s-0005", "tag", "first", "nothing", null, "tag", "second", "empty", ""));
      send(producer, "enriched", "dlq", 1, long8(6), utf8("{\"id\":\"s-6\",\"qty\":0,\"amount\":\"4\",\"enrich\":true}"), hs("trace-id", "s-0006"));
      send(producer, "good-2", "out", 1, long8(7), utf8("{\"id\":\"s-7\",\"qty\":1,\"amount\":\"1\"}"), hs("trace-id", "s-0007", "nothing", null));
      // partition 2
      send(producer, "wrapped", "dlq", 2, null, utf8("{\"id\":\"s-8\",\"qty\":3,\"amount\":\"12x\"}"), hs("trace-id", "s-0008"));
      send(producer, "null-message", "dlq", 2, long8(9), utf8("{ \"id\": \"s-9\", \"qty\": 1, \"amount\": \"2\", \"fail\": \"null-message\" }"),
          hs("trace-id", "s-0009", "origin", "bücher\r\nshop"));
      send(producer, "emit-then-fail", "dlq", 2, long8(10), utf8("{\"id\":\"s-10\",\"qty\":1,\"amount\":\"6\",\"fail\":\"emit-then-fail\"}"),
          hs("trace-id", "s-0010"));
      // the payments application: the bad record stops it (once per run)
      send(producer, PAY, "pay-good", "none", 0, long8(21), utf8("{\"id\":\"p-1\",\"amount\":\"5\"}"), hs("trace-id", "p-0001"));
      send(producer, PAY, "pay-bad", "dlq", 0, long8(22), utf8("p-2 is not json"), hs("trace-id", "p-0002", "tenant", "acme"));
      producer.flush();
    }
  }

  static void send(KafkaProducer<byte[], byte[]> producer, String id, String expect, int partition, byte[] key, byte[] value, List<Header> headers)
      throws Exception {
    send(producer, TOPIC, id, expect, partition, key, value, headers);
  }

  static void send(KafkaProducer<byte[], byte[]> producer, String topic, String id, String expect, int partition, byte[] key, byte[] value,
      List<Header> headers) throws Exception {
    RecordMetadata0 md = RecordMetadata0.of(producer.send(new ProducerRecord<>(topic, partition, null, key, value, headers)).get());
    Map<String, Object> e = new LinkedHashMap<>();
    e.put("kind", "produced");
    e.put("id", id);
    e.put("expect", expect);
    e.put("topic", md.topic);
    e.put("partition", md.partition);
    e.put("offset", Long.toString(md.offset));
    e.put("timestamp", md.timestamp);
    e.put("key", b64(key));
    e.put("value", b64(value));
    e.put("headers", headersJson(headers));
    // Where the Streams producer's default partitioner puts a DLQ record with these key bytes (null key: sticky, not predictable).
    e.put("dlqPartitionForKey", key == null ? null : Utils.toPositive(Utils.murmur2(key)) % (topic.equals(TOPIC) ? DLQ_PARTITIONS : 1));
    events.add(e);
  }

  record RecordMetadata0(String topic, int partition, long offset, long timestamp) {
    static RecordMetadata0 of(org.apache.kafka.clients.producer.RecordMetadata md) {
      return new RecordMetadata0(md.topic(), md.partition(), md.offset(), md.timestamp());
    }
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

  private StreamsCapture() {}
}
