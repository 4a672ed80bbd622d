package dlq.capture;

import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ConsumerGroupListing;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.common.serialization.UUIDDeserializer;
import org.apache.kafka.common.serialization.UUIDSerializer;
import org.springframework.context.annotation.AnnotationConfigApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.kafka.annotation.EnableKafka;
import org.springframework.kafka.annotation.EnableKafkaRetryTopic;
import org.springframework.kafka.annotation.KafkaListener;
import org.springframework.kafka.config.ConcurrentKafkaListenerContainerFactory;
import org.springframework.kafka.core.DefaultKafkaConsumerFactory;
import org.springframework.kafka.core.DefaultKafkaProducerFactory;
import org.springframework.kafka.core.KafkaOperations;
import org.springframework.kafka.core.KafkaTemplate;
import org.springframework.kafka.listener.DeadLetterPublishingRecoverer;
import org.springframework.kafka.listener.DefaultErrorHandler;
import org.springframework.kafka.retrytopic.RetryTopicConfiguration;
import org.springframework.kafka.support.KafkaUtils;
import org.springframework.kafka.retrytopic.RetryTopicConfigurationBuilder;
import org.springframework.kafka.support.serializer.DelegatingByTypeSerializer;
import org.springframework.kafka.support.serializer.ErrorHandlingDeserializer;
import org.springframework.kafka.support.serializer.JacksonJsonDeserializer;
import org.springframework.kafka.support.serializer.JacksonJsonSerializer;
import org.springframework.scheduling.concurrent.ThreadPoolTaskScheduler;
import org.springframework.util.backoff.FixedBackOff;

import tools.jackson.databind.json.JsonMapper;

/**
 * Makes real Spring Kafka 4.1 dead letters and writes what the application saw to events.ndjson.
 * (a) blocking retries: DefaultErrorHandler + DeadLetterPublishingRecoverer, FixedBackOff(200 ms, 2) →
 *     3 attempts, on spring-orders → spring-orders-dlt; listener exceptions and ErrorHandlingDeserializer
 *     failures (key and value).
 *     A listener on spring-orders-dlt reprocesses the dead letters with the same container factory: the
 *     deserialisation failures fail again and one order still fails, so they are dead-lettered a second
 *     time (spring-orders-dlt → spring-orders-dlt-dlt) and carry two sets of kafka_dlt-original-* headers.
 * (b) non-blocking retries: RetryTopicConfigurationBuilder, 3 attempts, fixed 500 ms backoff, on
 *     spring-payments → spring-payments-retry → spring-payments-dlt.
 * The truth is joined to the dumped DLQ records afterwards by join.py; this program only records
 * what it produced (with the broker's ack) and what each listener invocation saw and threw.
 */
public final class SpringCapture {
  static final String ORDERS = "spring-orders";
  static final String ORDERS_DLT = "spring-orders-dlt";
  static final String ORDERS_GROUP = "spring-orders-group";
  static final String ORDERS_DLT_DLT = "spring-orders-dlt-dlt";
  static final String ORDERS_DLT_GROUP = "spring-orders-dlt-group";
  static final String PAYMENTS = "spring-payments";
  static final String PAYMENTS_RETRY = "spring-payments-retry";
  static final String PAYMENTS_DLT = "spring-payments-dlt";
  static final String PAYMENTS_GROUP = "spring-payments-group";
  static final List<String> TOPICS = List.of(ORDERS, ORDERS_DLT, ORDERS_DLT_DLT, PAYMENTS, PAYMENTS_RETRY, PAYMENTS_DLT);

  static String brokers;
  static final Queue<Map<String, Object>> events = new ConcurrentLinkedQueue<>();
  static final Map<String, AtomicInteger> attemptsByRecord = new ConcurrentHashMap<>();
  static final Map<String, AtomicInteger> attemptsByRoot = new ConcurrentHashMap<>();
  static final AtomicInteger recovered = new AtomicInteger();

  /** The order the (a) listener consumes; field order is Jackson's serialisation order on the DLT hop. */
  public record Order(String id, String sku, int quantity, String amount) {}

  public static void main(String[] args) throws Exception {
    brokers = args[0];
    Path out = Path.of(args[1]);
    try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, brokers))) {
      resetTopics(admin);
    }
    produceSources();
    try (AnnotationConfigApplicationContext ctx = new AnnotationConfigApplicationContext(Config.class)) {
      // (a) 7 records reach the recoverer, 4 of them again from the DLT listener; (b) 5 retry-topic hops and 3 DLT records.
      waitForEnds(Map.of(ORDERS_DLT, 7L, ORDERS_DLT_DLT, 4L, PAYMENTS_RETRY, 5L, PAYMENTS_DLT, 3L), 120_000);
      Thread.sleep(3000); // let the successful retry (pay-2) and the DLT handler finish
    }
    JsonMapper json = JsonMapper.builder().build();
    try (PrintWriter w = new PrintWriter(Files.newBufferedWriter(out, StandardCharsets.UTF_8))) {
      for (Map<String, Object> e : events) w.println(json.writeValueAsString(e));
    }
    System.err.println("spring capture: " + events.size() + " events -> " + out);
  }

  // ------------------------------------------------------------------ topics

  static void resetTopics(Admin admin) throws Exception {
    Set<String> existing = admin.listTopics().names().get().stream()
        .filter(t -> t.startsWith(ORDERS) || t.startsWith(PAYMENTS)).collect(Collectors.toSet());
    if (!existing.isEmpty()) admin.deleteTopics(existing).all().get();
    List<String> groups = new ArrayList<>();
    for (ConsumerGroupListing g : admin.listConsumerGroups().all().get()) {
      if (g.groupId().startsWith(ORDERS_GROUP) || g.groupId().startsWith(ORDERS_DLT_GROUP) || g.groupId().startsWith(PAYMENTS_GROUP)) groups.add(g.groupId());
    }
    if (!groups.isEmpty()) admin.deleteConsumerGroups(groups).all().get();
    long deadline = System.currentTimeMillis() + 60_000;
    while (true) {
      try {
        admin.createTopics(TOPICS.stream().map(t -> new NewTopic(t, 2, (short) 1)).toList()).all().get();
        return;
      } catch (ExecutionException e) {
        // A deleted topic lingers for a moment ("marked for deletion"): try again.
        if (!(e.getCause() instanceof TopicExistsException) || System.currentTimeMillis() > deadline) throw e;
        Set<String> made = admin.listTopics().names().get();
        if (made.containsAll(TOPICS)) {
          // created by an earlier loop round whose answer was the exception for another topic
          return;
        }
        Thread.sleep(500);
      }
    }
  }

  static void waitForEnds(Map<String, Long> want, long timeoutMs) throws Exception {
    long deadline = System.currentTimeMillis() + timeoutMs;
    try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, brokers))) {
      while (true) {
        Map<TopicPartition, OffsetSpec> q = new HashMap<>();
        for (String t : want.keySet()) for (int p = 0; p < 2; p++) q.put(new TopicPartition(t, p), OffsetSpec.latest());
        Map<String, Long> have = new HashMap<>();
        admin.listOffsets(q).all().get().forEach((tp, info) -> have.merge(tp.topic(), info.offset(), Long::sum));
        boolean done = want.entrySet().stream().allMatch(e -> have.getOrDefault(e.getKey(), 0L) >= e.getValue());
        if (done) return;
        if (System.currentTimeMillis() > deadline) throw new IllegalStateException("timed out: have " + have + ", want " + want);
        Thread.sleep(500);
      }
    }
  }

  // ----------------------------------------------------------------- sources

  static final UUID K1 = UUID.fromString("0b7c3f0e-1a2b-4c3d-8e9f-000000000001");
  static final UUID K2 = UUID.fromString("0b7c3f0e-1a2b-4c3d-8e9f-000000000002");
  static final UUID K4 = UUID.fromString("0b7c3f0e-1a2b-4c3d-8e9f-000000000004");
  static final UUID K5 = UUID.fromString("0b7c3f0e-1a2b-4c3d-8e9f-000000000005");
  static final UUID K8 = UUID.fromString("0b7c3f0e-1a2b-4c3d-8e9f-000000000008");

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
      // (a) blocking retries + DLPR
      send(producer, "a-ok", ORDERS, 0, utf8(K1.toString()), utf8("{\"id\":\"o-1\",\"sku\":\"A-1\",\"quantity\":2,\"amount\":\"10\"}"),
          hs("trace-id", "t-0001"));
      send(producer, "a-negative", ORDERS, 0, utf8(K2.toString()), utf8("{\"id\":\"o-2\",\"sku\":\"B-2\",\"quantity\":-1,\"amount\":\"5\"}"),
          hs("tenant", "acme", "tag", "first", "tag", "second", "note", null));
      send(producer, "a-wrapped", ORDERS, 1, null, utf8("{\"id\":\"o-3\",\"sku\":\"C-3\",\"quantity\":1,\"amount\":\"12x\"}"),
          hs("trace-id", "t-0003"));
      // whitespace in the source JSON: the DLT hop re-serialises the Order, so the DLT value differs
      send(producer, "a-nomessage", ORDERS, 1, utf8(K4.toString()),
          utf8("{ \"id\": \"o-4\", \"sku\": \"D-4\", \"quantity\": 1, \"amount\": \"7\" }"), List.of());
      send(producer, "a-badjson", ORDERS, 0, utf8(K5.toString()), utf8("{\"id\":\"o-5\",\"sku\":"), hs("source", "web"));
      send(producer, "a-binary", ORDERS, 1, null, new byte[] {0, 1, (byte) 0xfe, (byte) 0xff, (byte) 0x80, '\r', '\n', 'o', '-', '6'},
          hs("content-type", "application/octet-stream", "empty", ""));
      send(producer, "a-badkey", ORDERS, 0, utf8("not-a-uuid-7"), utf8("{\"id\":\"o-7\",\"sku\":\"G-7\",\"quantity\":3,\"amount\":\"1\"}"),
          hs("trace-id", "t-0007"));
      send(producer, "a-unicode", ORDERS, 1, utf8(K8.toString()),
          utf8("{\"id\":\"o-8\",\"sku\":\"Ä-8 ✓\",\"quantity\":1,\"amount\":\"3\"}"), hs("origin", "bücher\r\nshop"));
      // (b) non-blocking retries
      send(producer, "b-always", PAYMENTS, 0, utf8("pay-1"), utf8("pay-1:always-fail"), hs("trace-id", "p-0001"));
      send(producer, "b-flaky", PAYMENTS, 1, null, utf8("pay-2:flaky"), hs("h", "1", "h", "2", "nothing", null));
      send(producer, "b-wrapped", PAYMENTS, 0, utf8("pay-3"), utf8("pay-3:always-fail-wrapped"), List.of());
      send(producer, "b-fatal", PAYMENTS, 1, utf8("pay-4"), utf8("pay-4:fatal"), hs("trace-id", "p-0004"));
      send(producer, "b-ok", PAYMENTS, 0, utf8("pay-5"), utf8("pay-5:ok"), List.of());
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
    e.put("key", b64(key));
    e.put("value", b64(value));
    e.put("headers", headersJson(headers));
    events.add(e);
  }

  // ----------------------------------------------------------------- helpers

  static String b64(byte[] b) {
    return b == null ? null : Base64.getEncoder().encodeToString(b);
  }

  static List<Map<String, Object>> headersJson(Iterable<Header> headers) {
    List<Map<String, Object>> l = new ArrayList<>();
    for (Header h : headers) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("key", h.key());
      m.put("value", b64(h.value()));
      l.add(m);
    }
    return l;
  }

  static Map<String, Object> error(Throwable t) {
    if (t == null) return null;
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("class", t.getClass().getName());
    m.put("message", t.getMessage());
    Throwable c = t.getCause();
    m.put("cause", c == null ? null : error(c));
    return m;
  }

  static String coords(ConsumerRecord<?, ?> r) {
    return r.topic() + "/" + r.partition() + "/" + r.offset();
  }

  static void attempt(String listener, ConsumerRecord<?, ?> r, int n, int rootAttempt, Throwable thrown) {
    Map<String, Object> e = new LinkedHashMap<>();
    e.put("kind", "attempt");
    e.put("listener", listener);
    e.put("topic", r.topic());
    e.put("partition", r.partition());
    e.put("offset", Long.toString(r.offset()));
    e.put("timestamp", r.timestamp());
    e.put("group", KafkaUtils.getConsumerGroupId());
    e.put("attemptOnRecord", n);
    e.put("attempt", rootAttempt);
    e.put("at", System.currentTimeMillis());
    e.put("valueSeen", String.valueOf(r.value()));
    e.put("headersSeen", headersJson(r.headers()));
    e.put("outcome", thrown == null ? "ok" : "threw");
    e.put("error", error(thrown));
    events.add(e);
  }

  // --------------------------------------------------------------- listeners

  public static class OrdersListener {
    @KafkaListener(id = "spring-orders-listener", topics = ORDERS, groupId = ORDERS_GROUP, containerFactory = "ordersFactory")
    public void onOrder(ConsumerRecord<UUID, Order> r) {
      int n = attemptsByRecord.computeIfAbsent(coords(r), k -> new AtomicInteger()).incrementAndGet();
      RuntimeException ex = null;
      Order o = r.value();
      try {
        if (o.quantity() < 0) ex = new IllegalArgumentException("quantity must be positive, got " + o.quantity() + " for order " + o.id());
        else if (o.id().equals("o-3")) {
          try {
            Integer.parseInt(o.amount());
          } catch (NumberFormatException nfe) {
            ex = new IllegalStateException("cannot price order " + o.id(), nfe);
          }
        } else if (o.id().equals("o-4")) ex = new UnsupportedOperationException();
        else if (o.id().equals("o-8")) ex = new IllegalArgumentException("sku '" + o.sku() + "' is unknown");
      } finally {
        attempt("orders", r, n, n, ex);
      }
      if (ex != null) throw ex;
    }
  }

  /** Reprocesses the DLT: every order now passes except o-8, whose SKU is still unknown. */
  public static class OrdersDltListener {
    @KafkaListener(id = "spring-orders-dlt-listener", topics = ORDERS_DLT, groupId = ORDERS_DLT_GROUP, containerFactory = "ordersFactory")
    public void onDeadOrder(ConsumerRecord<UUID, Order> r) {
      int n = attemptsByRecord.computeIfAbsent(coords(r), k -> new AtomicInteger()).incrementAndGet();
      RuntimeException ex = null;
      if (r.value().id().equals("o-8")) ex = new IllegalStateException("reprocessing o-8: sku '" + r.value().sku() + "' is still unknown");
      attempt("orders-dlt", r, n, n, ex);
      if (ex != null) throw ex;
    }
  }

  public static class PaymentsListener {
    @KafkaListener(id = "spring-payments-listener", topics = PAYMENTS, groupId = PAYMENTS_GROUP, containerFactory = "paymentsFactory")
    public void onPayment(ConsumerRecord<String, String> r) {
      int n = attemptsByRecord.computeIfAbsent(coords(r), k -> new AtomicInteger()).incrementAndGet();
      int root = attemptsByRoot.computeIfAbsent(r.value(), k -> new AtomicInteger()).incrementAndGet();
      RuntimeException ex = null;
      String v = r.value();
      if (v.endsWith(":always-fail")) ex = new IllegalStateException("payment pay-1 declined: card expired (attempt " + root + ")");
      else if (v.endsWith(":flaky") && root == 1)
        ex = new RuntimeException("gateway timeout for pay-2", new java.net.SocketTimeoutException("connect timed out"));
      else if (v.endsWith(":always-fail-wrapped")) {
        try {
          Integer.parseInt("3,50");
        } catch (NumberFormatException nfe) {
          ex = new IllegalStateException("cannot settle pay-3", nfe);
        }
      } else if (v.endsWith(":fatal")) ex = new ClassCastException("pay-4: amount is not a Money");
      attempt("payments", r, n, root, ex);
      if (ex != null) throw ex;
    }
  }

  /** The stock recoverer; it only notes when and with what it was called, then publishes as Spring does. */
  static final class RecordingRecoverer extends DeadLetterPublishingRecoverer {
    RecordingRecoverer(KafkaOperations<?, ?> template) {
      super(template);
    }

    @Override
    public void accept(ConsumerRecord<?, ?> record, Consumer<?, ?> consumer, Exception exception) {
      Map<String, Object> e = new LinkedHashMap<>();
      e.put("kind", "recovered");
      e.put("topic", record.topic());
      e.put("partition", record.partition());
      e.put("offset", Long.toString(record.offset()));
      e.put("at", System.currentTimeMillis());
      e.put("exception", error(exception));
      e.put("group", consumer == null ? null : consumer.groupMetadata().groupId());
      e.put("attempts", attemptsByRecord.getOrDefault(coords(record), new AtomicInteger()).get());
      events.add(e);
      super.accept(record, consumer, exception);
      recovered.incrementAndGet();
    }
  }

  // ------------------------------------------------------------------ config

  @Configuration
  @EnableKafka
  @EnableKafkaRetryTopic
  public static class Config {
    Map<String, Object> consumerProps() {
      Map<String, Object> c = new HashMap<>();
      c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, brokers);
      c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
      return c;
    }

    @Bean
    public KafkaTemplate<Object, Object> kafkaTemplate() {
      // The serializer Spring's docs pair with ErrorHandlingDeserializer: raw bytes of a record that
      // failed deserialisation go out as they came; objects are written as JSON (adding __TypeId__).
      Map<Class<?>, Serializer<?>> values = new LinkedHashMap<>();
      values.put(byte[].class, new ByteArraySerializer());
      values.put(String.class, new StringSerializer());
      values.put(Object.class, new JacksonJsonSerializer<>());
      Map<Class<?>, Serializer<?>> keys = new LinkedHashMap<>();
      keys.put(byte[].class, new ByteArraySerializer());
      keys.put(String.class, new StringSerializer());
      keys.put(UUID.class, new UUIDSerializer());
      Map<String, Object> p = Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, brokers, ProducerConfig.ACKS_CONFIG, "all");
      return new KafkaTemplate<>(new DefaultKafkaProducerFactory<>(p, new DelegatingByTypeSerializer(keys, true),
          new DelegatingByTypeSerializer(values, true)));
    }

    @Bean
    public ConcurrentKafkaListenerContainerFactory<UUID, Order> ordersFactory(KafkaTemplate<Object, Object> template) {
      JacksonJsonDeserializer<Order> json = new JacksonJsonDeserializer<>(Order.class, false);
      DefaultKafkaConsumerFactory<UUID, Order> cf = new DefaultKafkaConsumerFactory<>(consumerProps(),
          new ErrorHandlingDeserializer<>(new UUIDDeserializer()), new ErrorHandlingDeserializer<>(json));
      ConcurrentKafkaListenerContainerFactory<UUID, Order> f = new ConcurrentKafkaListenerContainerFactory<>();
      f.setConsumerFactory(cf);
      f.setCommonErrorHandler(new DefaultErrorHandler(new RecordingRecoverer(template), new FixedBackOff(200L, 2L)));
      return f;
    }

    @Bean
    public ConcurrentKafkaListenerContainerFactory<String, String> paymentsFactory() {
      DefaultKafkaConsumerFactory<String, String> cf = new DefaultKafkaConsumerFactory<>(consumerProps(),
          new StringDeserializer(), new StringDeserializer());
      ConcurrentKafkaListenerContainerFactory<String, String> f = new ConcurrentKafkaListenerContainerFactory<>();
      f.setConsumerFactory(cf);
      return f;
    }

    @Bean
    public RetryTopicConfiguration paymentsRetry(KafkaTemplate<Object, Object> template) {
      return RetryTopicConfigurationBuilder.newInstance()
          .includeTopic(PAYMENTS)
          .maxAttempts(3)
          .fixedBackOff(500L)
          .useSingleTopicForSameIntervals()
          .doNotAutoCreateRetryTopics()
          .listenerFactory("paymentsFactory")
          .create(template);
    }

    @Bean
    public ThreadPoolTaskScheduler taskScheduler() {
      ThreadPoolTaskScheduler s = new ThreadPoolTaskScheduler();
      s.setPoolSize(2);
      return s;
    }

    @Bean
    public OrdersListener ordersListener() {
      return new OrdersListener();
    }

    @Bean
    public OrdersDltListener ordersDltListener() {
      return new OrdersDltListener();
    }

    @Bean
    public PaymentsListener paymentsListener() {
      return new PaymentsListener();
    }
  }

  private SpringCapture() {}

  static {
    // quiet the clients; Spring's own warnings stay visible
    System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", System.getProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn"));
  }
}
