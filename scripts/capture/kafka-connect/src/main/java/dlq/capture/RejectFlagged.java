package dlq.capture;

import java.util.Map;

import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.connect.connector.ConnectRecord;
import org.apache.kafka.connect.header.Header;
import org.apache.kafka.connect.transforms.Transformation;

/**
 * A user transform of the kind Connect deployments carry: it rejects records flagged with a `reject` header,
 * so the capture has TRANSFORMATION failures whose exception is not a DataException, one with a null message
 * (Connect then writes a null `__connect.errors.exception.message`) and one whose message holds CR LF and a tab.
 */
public class RejectFlagged<R extends ConnectRecord<R>> implements Transformation<R> {
  @Override
  public R apply(R record) {
    Header flag = record.headers().lastWithName("reject");
    if (flag == null) return record;
    if ("null-message".equals(flag.value())) throw new IllegalStateException();
    throw new IllegalArgumentException("order rejected by policy:\r\n\tline two of the reason");
  }

  @Override
  public ConfigDef config() {
    return new ConfigDef();
  }

  @Override
  public void configure(Map<String, ?> configs) {}

  @Override
  public void close() {}
}
