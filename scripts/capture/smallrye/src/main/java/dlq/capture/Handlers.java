package dlq.capture;

import java.io.IOException;
import java.util.UUID;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeoutException;

import jakarta.enterprise.context.ApplicationScoped;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.eclipse.microprofile.reactive.messaging.Incoming;
import org.eclipse.microprofile.reactive.messaging.Message;

import io.smallrye.reactive.messaging.kafka.api.IncomingKafkaRecordMetadata;
import io.vertx.core.json.JsonObject;

/**
 * The application's consumers. Each records what it saw and what it threw (or nacked with) before
 * SmallRye's dead-letter-queue failure strategy takes over; the exceptions are made here, so the
 * capture knows them exactly.
 */
@ApplicationScoped
public class Handlers {

  /** smallrye-orders: String key and value; the method throws, so SmallRye nacks the record with what it threw. */
  @Incoming("smallrye-orders")
  public void orders(ConsumerRecord<String, String> r) {
    String v = r.value();
    RuntimeException fail = null;
    if (v == null) fail = new IllegalStateException("tombstone for " + r.key() + " cannot be processed");
    else if (v.contains("\"fail-with-cause\"")) fail = new IllegalStateException("order o-2 cannot be shipped", new IOException("warehouse unreachable"));
    else if (v.contains("\"fail-no-message\"")) fail = new IllegalArgumentException();
    else if (v.contains("\"fail-null-message-with-cause\"")) fail = new RuntimeException((String) null, new ArithmeticException());
    else if (v.contains("\"fail-binary-key\"")) fail = new UnsupportedOperationException("order o-5 has a binary key");
    else if (v.contains("\"fail-multiline\"")) fail = new IllegalStateException("order o-6 rejected:\nline two ✓\r\n\ttabbed");
    Events.attempt("orders", "smallrye-orders-group", r.topic(), r.partition(), r.offset(), fail == null ? "ok" : "threw", fail);
    if (fail != null) throw fail;
  }

  /** smallrye-payments: the method takes the Message and nacks it itself with a reason. */
  @Incoming("smallrye-payments")
  public CompletionStage<Void> payments(Message<String> m) {
    IncomingKafkaRecordMetadata<?, ?> md = m.getMetadata(IncomingKafkaRecordMetadata.class).orElseThrow();
    String v = m.getPayload();
    Throwable reason = null;
    if (v.endsWith(":reject")) reason = new PaymentRejected("card declined for " + v.substring(0, v.indexOf(':')), new TimeoutException("issuer timed out"));
    else if (v.endsWith(":reject-plain")) reason = new PaymentRejected("insufficient funds", null);
    Events.attempt("payments", "smallrye-payments-group", md.getTopic(), md.getPartition(), md.getOffset(), reason == null ? "ok" : "nacked", reason);
    return reason == null ? m.ack() : m.nack(reason);
  }

  static final java.util.Map<String, java.util.concurrent.atomic.AtomicInteger> TRIES = new java.util.concurrent.ConcurrentHashMap<>();

  /**
   * smallrye-retries (failure-strategy=delayed-retry-topic): ret-2 always fails (a different message per attempt),
   * ret-3 fails once and then succeeds. Retried records arrive from the retry topics through the same method.
   */
  @Incoming("smallrye-retries")
  public void retries(ConsumerRecord<String, String> r) {
    int n = TRIES.computeIfAbsent(r.value(), v -> new java.util.concurrent.atomic.AtomicInteger()).incrementAndGet();
    RuntimeException fail = null;
    if (r.value().endsWith(":always")) fail = new IllegalStateException("attempt " + n + " of " + r.key() + " failed", new IOException("downstream busy"));
    else if (r.value().endsWith(":flaky") && n == 1) fail = new IllegalStateException("attempt 1 of " + r.key() + " failed");
    Events.attempt("retries", "smallrye-retries-group", r.topic(), r.partition(), r.offset(), fail == null ? "ok" : "threw", fail);
    if (fail != null) throw fail;
  }

  /** smallrye-events: UUID keys and Vert.x JsonObject values; records that fail deserialisation never reach it. */
  @Incoming("smallrye-events")
  public void events(ConsumerRecord<UUID, JsonObject> r) {
    JsonObject v = r.value();
    RuntimeException fail = v != null && v.getInteger("n", 0) == 4 ? new IllegalStateException("event " + v.getString("id") + " rejected") : null;
    Events.attempt("events", "smallrye-events-group", r.topic(), r.partition(), r.offset(), fail == null ? "ok" : "threw", fail);
    if (fail != null) throw fail;
  }
}
