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
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiFunction;
import java.util.function.Consumer;
import java.util.stream.Collectors;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ConsumerGroupListing;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
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
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.cloud.stream.binder.kafka.ListenerContainerWithDlqAndRetryCustomizer;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.kafka.core.DefaultKafkaProducerFactory;
import org.springframework.kafka.core.KafkaTemplate;
import org.springframework.kafka.listener.AbstractMessageListenerContainer;
import org.springframework.kafka.listener.DeadLetterPublishingRecoverer;
import org.springframework.kafka.listener.DefaultErrorHandler;
import org.springframework.kafka.support.KafkaHeaders;
import org.springframework.messaging.Message;
import org.springframework.messaging.MessageHeaders;
import org.springframework.messaging.SubscribableChannel;
import org.springframework.messaging.support.ErrorMessage;
import org.springframework.util.backoff.BackOff;

import tools.jackson.databind.json.JsonMapper;

/**
 * Makes real Spring Cloud Stream Kafka binder dead letters (enableDlq) and writes what the application
 * saw to events.ndjson: every record it produced (with the broker's ack), every handler invocation
 * (the record's coordinates from the binder's message headers, what it threw), and every ErrorMessage
 * the binder published on the global errorChannel (the exception it dead-letters, and when).
 *
 * (a) spring-cloud-stream-orders (3 partitions) → functional Consumer<Message<Order>> "orders",
 *     maxAttempts 3 (the binder's RetryTemplate), dlqName spring-cloud-stream-orders-dlq (the binder
 *     provisions it), JSON conversion to Order by the binder.
 * (b) spring-cloud-stream-payments (1 partition, LogAppendTime) → "payments", maxAttempts 1, no dlqName:
 *     the binder's default DLQ name error.<topic>.<group>.
 * (c) spring-cloud-stream-orders-dlq → "redo" (group spring-cloud-stream-redo), maxAttempts 1, dlqName
 *     spring-cloud-stream-orders-dlq-dlq: the DLQ reprocessed, two records fail again and are
 *     dead-lettered a second time.
 * (d) spring-cloud-stream-refunds (2 partitions) → "refunds", maxAttempts 2, enableDlq, dlqName
 *     spring-cloud-stream-refunds-dlq, but retries and dead-lettering handed to the container by a
 *     ListenerContainerWithDlqAndRetryCustomizer with Spring Kafka's DeadLetterPublishingRecoverer (the
 *     binder's documented alternative): what an app on that path writes instead.
 * truth.ndjson is joined by join.py from these events and the dump (lib/dump.py).
 */
@SpringBootApplication
public class StreamCapture {
  static final String ORDERS = "spring-cloud-stream-orders";
  static final String ORDERS_DLQ = "spring-cloud-stream-orders-dlq";
  static final String ORDERS_DLQ_DLQ = "spring-cloud-stream-orders-dlq-dlq";
  static final String PAYMENTS = "spring-cloud-stream-payments";
  static final String GROUP = "spring-cloud-stream-group";
  static final String REDO_GROUP = "spring-cloud-stream-redo";
  static final String PAYMENTS_DLQ = "error." + PAYMENTS + "." + GROUP;
  static final String REFUNDS = "spring-cloud-stream-refunds";
  static final String REFUNDS_DLQ = "spring-cloud-stream-refunds-dlq";

  static String brokers;
  static final Queue<Map<String, Object>> events = new ConcurrentLinkedQueue<>();
  static final Map<String, AtomicInteger> attempts = new ConcurrentHashMap<>();

  /** What the orders handler consumes: the binder converts the JSON payload (contentType application/json). */
  public record Order(String id, String sku, int quantity) {}

  public static void main(String[] args) throws Exception {
    brokers = args[0];
    Path out = Path.of(args[1]);
    try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, brokers))) {
      resetTopics(admin);
    }
    produceSources();
    Map<String, Object> props = new LinkedHashMap<>();
    props.put("spring.main.banner-mode", "off");
    props.put("logging.level.root", "WARN");
    // the global errorChannel's LoggingHandler prints every dead-lettered failure: events.ndjson has them
    props.put("logging.level.org.springframework.integration.handler.LoggingHandler", "OFF");
    props.put("spring.cloud.stream.kafka.binder.brokers", brokers);
    props.put("spring.cloud.function.definition", "orders;payments;redo;refunds");
    // (a)
    props.put("spring.cloud.stream.bindings.orders-in-0.destination", ORDERS);
    props.put("spring.cloud.stream.bindings.orders-in-0.group", GROUP);
    props.put("spring.cloud.stream.bindings.orders-in-0.content-type", "application/json");
    props.put("spring.cloud.stream.bindings.orders-in-0.consumer.max-attempts", "3");
    props.put("spring.cloud.stream.bindings.orders-in-0.consumer.back-off-initial-interval", "100");
    props.put("spring.cloud.stream.bindings.orders-in-0.consumer.back-off-max-interval", "100");
    props.put("spring.cloud.stream.kafka.bindings.orders-in-0.consumer.enable-dlq", "true");
    props.put("spring.cloud.stream.kafka.bindings.orders-in-0.consumer.dlq-name", ORDERS_DLQ);
    props.put("spring.cloud.stream.kafka.bindings.orders-in-0.consumer.start-offset", "earliest");
    // (b)
    props.put("spring.cloud.stream.bindings.payments-in-0.destination", PAYMENTS);
    props.put("spring.cloud.stream.bindings.payments-in-0.group", GROUP);
    props.put("spring.cloud.stream.bindings.payments-in-0.consumer.max-attempts", "1");
    props.put("spring.cloud.stream.kafka.bindings.payments-in-0.consumer.enable-dlq", "true");
    props.put("spring.cloud.stream.kafka.bindings.payments-in-0.consumer.start-offset", "earliest");
    // (c)
    props.put("spring.cloud.stream.bindings.redo-in-0.destination", ORDERS_DLQ);
    props.put("spring.cloud.stream.bindings.redo-in-0.group", REDO_GROUP);
    props.put("spring.cloud.stream.bindings.redo-in-0.consumer.max-attempts", "1");
    props.put("spring.cloud.stream.kafka.bindings.redo-in-0.consumer.enable-dlq", "true");
    props.put("spring.cloud.stream.kafka.bindings.redo-in-0.consumer.dlq-name", ORDERS_DLQ_DLQ);
    props.put("spring.cloud.stream.kafka.bindings.redo-in-0.consumer.start-offset", "earliest");

    // (d)
    props.put("spring.cloud.stream.bindings.refunds-in-0.destination", REFUNDS);
    props.put("spring.cloud.stream.bindings.refunds-in-0.group", GROUP);
    props.put("spring.cloud.stream.bindings.refunds-in-0.consumer.max-attempts", "2");
    props.put("spring.cloud.stream.bindings.refunds-in-0.consumer.back-off-initial-interval", "100");
    props.put("spring.cloud.stream.bindings.refunds-in-0.consumer.back-off-max-interval", "100");
    props.put("spring.cloud.stream.kafka.bindings.refunds-in-0.consumer.enable-dlq", "true");
    props.put("spring.cloud.stream.kafka.bindings.refunds-in-0.consumer.dlq-name", REFUNDS_DLQ);
    props.put("spring.cloud.stream.kafka.bindings.refunds-in-0.consumer.start-offset", "earliest");

    try (ConfigurableApplicationContext ctx = new SpringApplicationBuilder(StreamCapture.class).properties(props).run()) {
      waitForEnds(Map.of(ORDERS_DLQ, 5L, PAYMENTS_DLQ, 1L, ORDERS_DLQ_DLQ, 2L, REFUNDS_DLQ, 2L), 120_000);
      Thread.sleep(3000); // let the redo handler finish the rest of the DLQ
      try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, brokers))) {
        for (TopicDescription d : admin.describeTopics(List.of(ORDERS, ORDERS_DLQ, PAYMENTS, PAYMENTS_DLQ, ORDERS_DLQ_DLQ, REFUNDS, REFUNDS_DLQ)).allTopicNames().get().values()) {
          Map<String, Object> e = new LinkedHashMap<>();
          e.put("kind", "topic");
          e.put("topic", d.name());
          e.put("partitions", d.partitions().size());
          events.add(e);
        }
      }
    }
    JsonMapper json = JsonMapper.builder().build();
    try (PrintWriter w = new PrintWriter(Files.newBufferedWriter(out, StandardCharsets.UTF_8))) {
      for (Map<String, Object> e : events) w.println(json.writeValueAsString(e));
    }
    System.err.println("spring-cloud-stream capture: " + events.size() + " events -> " + out);
  }

  // --------------------------------------------------------------- handlers

  /**
   * The binder bridges every binding's error channel to the global errorChannel: what it dead-letters, and
   * when. Subscribed while the context is built, before the bindings start consuming.
   */
  @Bean
  public Object errorRecorder(@Qualifier("errorChannel") SubscribableChannel errorChannel) {
    errorChannel.subscribe(StreamCapture::errorSeen);
    return new Object();
  }

  @Bean
  public Consumer<Message<Order>> orders() {
    return m -> {
      int n = attempt(m);
      Object payload = m.getPayload(); // not cast here: see orderFailure
      RuntimeException ex = orderFailure(payload, n);
      handled("orders", m, n, ex);
      if (ex != null) throw ex;
    };
  }

  /** What the orders handler throws on its n-th attempt at a record, or null. */
  static RuntimeException orderFailure(Object payload, int n) {
    Order o;
    try {
      // When the JSON conversion fails the binder still calls the handler, with the raw byte[] payload:
      // the handler's own cast is what fails (o-4).
      o = (Order) payload;
    } catch (ClassCastException cce) {
      return cce;
    }
    switch (o.id()) {
      case "o-1":
        return new IllegalStateException("order o-1 rejected: quantity " + o.quantity());
      case "o-2":
        try {
          return new IllegalStateException("unreachable " + 100 / o.quantity());
        } catch (ArithmeticException ae) {
          return new RuntimeException("order o-2 could not be priced", ae);
        }
      case "o-3":
        return new UnsupportedOperationException();
      case "o-5":
        return n == 1 ? new IllegalStateException("order o-5: stock service busy, try again") : null;
      case "o-6":
        return new IllegalArgumentException("sku '" + o.sku() + "' is unknown\nsecond line");
      default:
        return null;
    }
  }

  @Bean
  public Consumer<Message<byte[]>> payments() {
    return m -> {
      int n = attempt(m);
      RuntimeException ex = new IllegalArgumentException("payment " + new String(m.getPayload(), StandardCharsets.UTF_8) + ": amount is negative");
      handled("payments", m, n, ex);
      throw ex;
    };
  }

  /** Reprocesses the orders DLQ: o-1 and o-3 fail again (dead-lettered twice), the rest succeed. */
  @Bean
  public Consumer<Message<byte[]>> redo() {
    return m -> {
      int n = attempt(m);
      String v = new String(m.getPayload(), StandardCharsets.UTF_8);
      RuntimeException ex = null;
      if (v.contains("\"o-1\"")) ex = new IllegalStateException("redo: order o-1 still rejected");
      else if (v.contains("\"o-3\"")) ex = new IllegalStateException("redo: order o-3 still unsupported", new UnsupportedOperationException("no handler for o-3"));
      handled("redo", m, n, ex);
      if (ex != null) throw ex;
    };
  }

  @Bean
  public Consumer<Message<byte[]>> refunds() {
    return m -> {
      int n = attempt(m);
      String v = new String(m.getPayload(), StandardCharsets.UTF_8);
      RuntimeException ex = v.startsWith("r-1")
          ? new IllegalStateException("refund " + v + " exceeds the payment")
          : new RuntimeException("refund " + v + " failed", new java.io.UncheckedIOException("ledger unavailable", new java.io.IOException("connection reset")));
      handled("refunds", m, n, ex);
      throw ex;
    };
  }

  /**
   * (d) The binder's documented way to retry and dead-letter in the listener container instead: for the refunds
   * binding, a DefaultErrorHandler with Spring Kafka's DeadLetterPublishingRecoverer, given the binder's own DLQ
   * destination resolver (dlqName, source partition) and back-off (maxAttempts 2).
   */
  @Bean
  public ListenerContainerWithDlqAndRetryCustomizer refundsCustomizer() {
    return new ListenerContainerWithDlqAndRetryCustomizer() {
      @Override
      public void configure(AbstractMessageListenerContainer<?, ?> container, String destinationName, String group,
          BiFunction<ConsumerRecord<?, ?>, Exception, TopicPartition> dlqDestinationResolver, BackOff backOff) {
        if (!REFUNDS.equals(destinationName)) return;
        KafkaTemplate<byte[], byte[]> template = new KafkaTemplate<>(new DefaultKafkaProducerFactory<>(
            Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, brokers), new ByteArraySerializer(), new ByteArraySerializer()));
        container.setCommonErrorHandler(new DefaultErrorHandler(new DeadLetterPublishingRecoverer(template, dlqDestinationResolver), backOff));
      }

      @Override
      public boolean retryAndDlqInBinding(String destinationName, String group) {
        return !REFUNDS.equals(destinationName);
      }
    };
  }

  static String coords(MessageHeaders h) {
    return h.get(KafkaHeaders.RECEIVED_TOPIC) + "/" + h.get(KafkaHeaders.RECEIVED_PARTITION) + "/" + h.get(KafkaHeaders.OFFSET);
  }

  static int attempt(Message<?> m) {
    return attempts.computeIfAbsent(coords(m.getHeaders()), k -> new AtomicInteger()).incrementAndGet();
  }

  static void handled(String handler, Message<?> m, int n, Throwable thrown) {
    MessageHeaders h = m.getHeaders();
    Map<String, Object> e = new LinkedHashMap<>();
    e.put("kind", "attempt");
    e.put("handler", handler);
    e.put("topic", h.get(KafkaHeaders.RECEIVED_TOPIC));
    e.put("partition", h.get(KafkaHeaders.RECEIVED_PARTITION));
    e.put("offset", String.valueOf(h.get(KafkaHeaders.OFFSET)));
    e.put("timestamp", h.get(KafkaHeaders.RECEIVED_TIMESTAMP));
    e.put("timestampType", String.valueOf(h.get(KafkaHeaders.TIMESTAMP_TYPE)));
    e.put("group", h.get(KafkaHeaders.GROUP_ID));
    e.put("deliveryAttempt", h.get("deliveryAttempt") == null ? null : h.get("deliveryAttempt").toString());
    e.put("attempt", n);
    e.put("payloadType", m.getPayload().getClass().getName());
    e.put("at", System.currentTimeMillis());
    e.put("outcome", thrown == null ? "ok" : "threw");
    e.put("error", error(thrown));
    events.add(e);
  }

  /** An ErrorMessage on the global errorChannel: the exception the binder hands to its DLQ handler. */
  static void errorSeen(Message<?> m) {
    Map<String, Object> e = new LinkedHashMap<>();
    e.put("kind", "error");
    e.put("at", System.currentTimeMillis());
    e.put("exception", error((Throwable) m.getPayload()));
    Message<?> orig = m instanceof ErrorMessage em ? em.getOriginalMessage() : null;
    if (orig != null) {
      MessageHeaders h = orig.getHeaders();
      e.put("topic", h.get(KafkaHeaders.RECEIVED_TOPIC));
      e.put("partition", h.get(KafkaHeaders.RECEIVED_PARTITION));
      e.put("offset", String.valueOf(h.get(KafkaHeaders.OFFSET)));
      e.put("group", h.get(KafkaHeaders.GROUP_ID));
      e.put("deliveryAttempt", h.get("deliveryAttempt") == null ? null : h.get("deliveryAttempt").toString());
    }
    Object raw = m.getHeaders().get("sourceData"); // IntegrationMessageHeaderAccessor.SOURCE_DATA: the ConsumerRecord
    if (raw instanceof ConsumerRecord<?, ?> r) {
      e.put("topic", r.topic());
      e.put("partition", r.partition());
      e.put("offset", Long.toString(r.offset()));
    }
    events.add(e);
  }

  // ----------------------------------------------------------------- topics

  static void resetTopics(Admin admin) throws Exception {
    Set<String> existing = admin.listTopics().names().get().stream()
        .filter(t -> t.startsWith("spring-cloud-stream-") || t.equals(PAYMENTS_DLQ)).collect(Collectors.toSet());
    if (!existing.isEmpty()) admin.deleteTopics(existing).all().get();
    List<String> groups = new ArrayList<>();
    for (ConsumerGroupListing g : admin.listConsumerGroups().all().get()) {
      if (g.groupId().equals(GROUP) || g.groupId().equals(REDO_GROUP)) groups.add(g.groupId());
    }
    if (!groups.isEmpty()) admin.deleteConsumerGroups(groups).all().get();
    // Only the sources: the binder provisions the DLQ topics itself (its own partition count).
    NewTopic payments = new NewTopic(PAYMENTS, 1, (short) 1).configs(Map.of("message.timestamp.type", "LogAppendTime"));
    List<NewTopic> want = List.of(new NewTopic(ORDERS, 3, (short) 1), payments, new NewTopic(REFUNDS, 2, (short) 1));
    long deadline = System.currentTimeMillis() + 60_000;
    while (true) {
      try {
        admin.createTopics(want).all().get();
        break;
      } catch (ExecutionException e) {
        // a deleted topic lingers for a moment ("marked for deletion"): try again
        if (!(e.getCause() instanceof TopicExistsException) || System.currentTimeMillis() > deadline) throw e;
        if (admin.listTopics().names().get().containsAll(List.of(ORDERS, PAYMENTS, REFUNDS))) break;
        Thread.sleep(500);
      }
    }
    // wait until the deleted DLQ topics are really gone, so the binder provisions them afresh
    while (admin.listTopics().names().get().stream().anyMatch(t -> t.equals(ORDERS_DLQ) || t.equals(ORDERS_DLQ_DLQ) || t.equals(PAYMENTS_DLQ) || t.equals(REFUNDS_DLQ))) {
      if (System.currentTimeMillis() > deadline) throw new IllegalStateException("old DLQ topics not deleted");
      Thread.sleep(500);
    }
  }

  static void waitForEnds(Map<String, Long> want, long timeoutMs) throws Exception {
    long deadline = System.currentTimeMillis() + timeoutMs;
    try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, brokers))) {
      while (true) {
        Map<String, Long> have = new HashMap<>();
        Set<String> exist = admin.listTopics().names().get();
        Map<TopicPartition, OffsetSpec> q = new HashMap<>();
        for (String t : want.keySet()) {
          if (!exist.contains(t)) continue;
          TopicDescription d = admin.describeTopics(List.of(t)).allTopicNames().get().get(t);
          for (var p : d.partitions()) q.put(new TopicPartition(t, p.partition()), OffsetSpec.latest());
        }
        if (!q.isEmpty()) admin.listOffsets(q).all().get().forEach((tp, info) -> have.merge(tp.topic(), info.offset(), Long::sum));
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

  static List<Header> hs(Object... kv) {
    List<Header> l = new ArrayList<>();
    for (int i = 0; i < kv.length; i += 2) l.add(new RecordHeader((String) kv[i], kv[i + 1] instanceof byte[] b ? b : utf8((String) kv[i + 1])));
    return l;
  }

  static void produceSources() throws Exception {
    Map<String, Object> p = Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, brokers, ProducerConfig.ACKS_CONFIG, "all");
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
      // user headers: order, repeats, a null value, an empty value, non-UTF-8 bytes
      send(producer, "o-1", ORDERS, 0, utf8("order-1"), utf8("{\"id\":\"o-1\",\"sku\":\"A-1\",\"quantity\":0}"),
          hs("trace-id", "t-0001", "tag", "first", "tenant", "acme", "tag", "second", "note", null, "empty", "", "bin", new byte[] {(byte) 0xff, 0, (byte) 0x80}));
      // a binary key; the handler's exception has a cause
      send(producer, "o-2", ORDERS, 1, new byte[] {0, (byte) 0xff, 0x10, (byte) 0x80}, utf8("{\"id\":\"o-2\",\"sku\":\"B-2\",\"quantity\":0}"),
          hs("trace-id", "t-0002"));
      // a null key, no headers; the handler's exception has no message
      send(producer, "o-3", ORDERS, 2, null, utf8("{\"id\":\"o-3\",\"sku\":\"C-3\",\"quantity\":1}"), List.of());
      // not JSON: the binder cannot convert it to an Order, the handler never runs
      send(producer, "o-4", ORDERS, 1, utf8("order-4"), utf8("o-4: this is not JSON {"), hs("trace-id", "t-0004"));
      // fails once, then succeeds: never dead-lettered
      send(producer, "o-5", ORDERS, 0, utf8("order-5"), utf8("{\"id\":\"o-5\",\"sku\":\"E-5\",\"quantity\":2}"), hs("trace-id", "t-0005"));
      // a message with a newline and non-ASCII text
      send(producer, "o-6", ORDERS, 2, utf8("order-6"), utf8("{\"id\":\"o-6\",\"sku\":\"Ä-6 ✓\",\"quantity\":1}"), hs("origin", "bücher\r\nshop"));
      // succeeds at once
      send(producer, "o-7", ORDERS, 0, utf8("order-7"), utf8("{\"id\":\"o-7\",\"sku\":\"G-7\",\"quantity\":5}"), List.of());
      // (b) LogAppendTime source, repeated headers
      // (d) two partitions, user headers
      send(producer, "r-1", REFUNDS, 1, utf8("refund-1"), utf8("r-1 12.00 EUR"), hs("trace-id", "t-r1", "tag", "a", "tag", "b"));
      send(producer, "r-2", REFUNDS, 0, null, utf8("r-2 3.50 EUR"), hs("note", null));
      send(producer, "p-1", PAYMENTS, 0, utf8("pay-1"), utf8("p-1 -5.00 EUR"), hs("h", "1", "h", "2"));
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
    m.put("cause", c == null || c == t ? null : error(c));
    return m;
  }
}
