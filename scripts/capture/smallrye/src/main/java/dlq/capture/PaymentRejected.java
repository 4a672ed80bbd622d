package dlq.capture;

/** The application's own exception, passed to Message.nack(...) by the payments handler. */
public class PaymentRejected extends RuntimeException {
  public PaymentRejected(String message, Throwable cause) {
    super(message, cause);
  }
}
