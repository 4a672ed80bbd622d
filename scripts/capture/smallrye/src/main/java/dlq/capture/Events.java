package dlq.capture;

import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;

import org.apache.kafka.common.header.Header;

/** What the capture program knows: the records it produced (with the broker's ack) and what each handler saw and threw. */
public final class Events {
  static final Queue<Map<String, Object>> ALL = new ConcurrentLinkedQueue<>();

  private Events() {}

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

  /** An exception as {class, message, cause: {…}} down its whole chain. */
  static Map<String, Object> error(Throwable t) {
    if (t == null) return null;
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("class", t.getClass().getName());
    m.put("message", t.getMessage());
    m.put("cause", t.getCause() == t ? null : error(t.getCause()));
    return m;
  }

  /** A handler invocation: the record's coordinates as the handler saw them, and what it threw or nacked with. */
  static void attempt(String handler, String group, String topic, int partition, long offset, String outcome, Throwable error) {
    Map<String, Object> e = new LinkedHashMap<>();
    e.put("kind", "attempt");
    e.put("handler", handler);
    e.put("group", group);
    e.put("topic", topic);
    e.put("partition", partition);
    e.put("offset", Long.toString(offset));
    e.put("outcome", outcome);
    e.put("error", error(error));
    e.put("at", System.currentTimeMillis());
    ALL.add(e);
  }
}
