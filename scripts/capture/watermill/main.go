// Watermill capture: a real message.Router with middleware.PoisonQueue (wrapping middleware.Retry, so
// attempts are real) on Redis streams (watermill-redisstream) and on Kafka (watermill-kafka, sarama).
//
//	watermill-capture capture               publishes the originals, runs the router until every message
//	                                        is done, dumps the poison stream/topic with lib/dump.py and
//	                                        writes truth.ndjson + capture.json (env: DLQ_CAPTURE_KAFKA,
//	                                        DLQ_CAPTURE_REDIS, DLQ_CAPTURE_OUT, DLQ_CAPTURE_PYTHON, DLQ_CAPTURE_DUMP)
//	watermill-capture mkgroup STREAM GROUP  creates a consumer group at 0 (MKSTREAM), as the Watermill subscriber would
//	watermill-capture probe STREAM GROUP [--append-valid]
//	                                        (first appends one well-formed Watermill message) reads STREAM with the real Watermill subscriber for a few seconds and
//	                                        prints, as JSON, what it delivered, what it logged, and what stays pending
//
// The truth is what the handler knew: the message (uuid, metadata, payload; on Kafka the partition, offset,
// key and time from the subscriber's context), each attempt's error, and how many attempts were made.
package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill-kafka/v3/pkg/kafka"
	"github.com/ThreeDotsLabs/watermill-redisstream/pkg/redisstream"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/redis/go-redis/v9"
)

const (
	redisSource  = "watermill-redis-orders"
	redisPoison  = "watermill-redis-orders-poison"
	kafkaSource  = "watermill-kafka-orders"
	kafkaPoison  = "watermill-kafka-orders-poison"
	group        = "watermill-capture"
	redisHandler = "redis-orders-handler"
	kafkaHandler = "kafka-orders-handler"
	maxRetries   = 2 // Retry middleware: 1 attempt + 2 retries
)

// ValidationError is a typed error, so the truth's error class is a real Go type, not only *errors.errorString.
type ValidationError struct{ Field, Problem string }

func (e *ValidationError) Error() string { return "validation failed: " + e.Field + " " + e.Problem }

var (
	errGatewayTimeout = errors.New("payment gateway timeout after 2s")
	errPermanent      = errors.New("permanent")
)

// A case: what the handler does with the message, and what the message carries.
type testCase struct {
	name      string
	customer  string // metadata "customer"; also the Kafka partition key
	payload   []byte
	extraMeta map[string]string
	failures  int // attempts that fail before success; maxRetries+1 or more = always fails
	err       func(attempt int) error
}

func cases() []testCase {
	always := maxRetries + 10
	return []testCase{
		{name: "quantity", customer: "acme", payload: []byte(`{"order":1,"qty":-3}`), failures: always,
			err: func(int) error { return &ValidationError{"qty", "must be positive (got -3)"} }},
		{name: "gateway", customer: "acme", payload: []byte(`{"order":2,"qty":1,"card":"4111"}`), failures: always,
			err: func(a int) error { return fmt.Errorf("charge card for order 2 (attempt %d): %w", a, errGatewayTimeout) }},
		{name: "currency", customer: "globex", payload: []byte(`{"order":3,"qty":1,"currency":"XTS"}`), failures: always,
			err: func(int) error { return fmt.Errorf("%w: unknown currency \"XTS\"", errPermanent) }},
		{name: "binary", customer: "acme", payload: []byte("\x89PNG\r\n\x1a\n\x00\xffbinary order 4"), failures: always,
			extraMeta: map[string]string{"content-type": "application/octet-stream", "raw": "\xff\xfe\x00bytes"},
			err:       func(int) error { return errors.New("payload is not JSON (first byte 0x89)") }},
		{name: "multiline", customer: "", payload: []byte(`{"order":5,"note":"line1\nline2"}`), failures: always,
			extraMeta: map[string]string{"note": "café ☃", "empty": ""},
			err:       func(int) error { return errors.New("bad note: \"line1\nline2\t\x1b[31mred\x1b[0m\"") }},
		{name: "empty-payload", customer: "initech", payload: []byte{}, failures: always,
			err: func(int) error { return errors.New("empty payload") }},
		{name: "flaky", customer: "acme", payload: []byte(`{"order":7,"qty":2}`), failures: 1,
			err: func(a int) error { return fmt.Errorf("inventory service busy (attempt %d)", a) }},
		{name: "ok", customer: "globex", payload: []byte(`{"order":8,"qty":5}`), failures: 0},
		{name: "ok-acme", customer: "acme", payload: []byte(`{"order":9,"qty":6}`), failures: 0},
	}
}

// attempt is one run of the handler.
type attempt struct {
	At  int64  `json:"at"`
	Err string `json:"error,omitempty"`
}

// seen is what the handler knows about one message.
type seen struct {
	Backend   string
	Topic     string
	UUID      string
	Case      string
	Metadata  map[string]string // before the poison middleware adds its keys
	Payload   []byte
	Partition *int32
	Offset    *int64
	Key       []byte
	HasKey    bool
	Timestamp *int64
	Attempts  []attempt
	LastErr   error
	Succeeded bool
}

type recorder struct {
	mu   sync.Mutex
	byID map[string]*seen
}

func (r *recorder) handler(backend string, plan map[string]testCase) message.NoPublishHandlerFunc {
	return func(msg *message.Message) error {
		r.mu.Lock()
		s := r.byID[msg.UUID]
		if s == nil {
			md := map[string]string{}
			for k, v := range msg.Metadata {
				md[k] = v
			}
			s = &seen{Backend: backend, Topic: message.SubscribeTopicFromCtx(msg.Context()), UUID: msg.UUID,
				Case: msg.Metadata.Get("case"), Metadata: md, Payload: append([]byte(nil), msg.Payload...)}
			ctx := msg.Context()
			if p, ok := kafka.MessagePartitionFromCtx(ctx); ok {
				s.Partition = &p
			}
			if o, ok := kafka.MessagePartitionOffsetFromCtx(ctx); ok {
				s.Offset = &o
			}
			if k, ok := kafka.MessageKeyFromCtx(ctx); ok {
				s.Key, s.HasKey = k, true
			}
			if t, ok := kafka.MessageTimestampFromCtx(ctx); ok {
				ms := t.UnixMilli()
				s.Timestamp = &ms
			}
			r.byID[msg.UUID] = s
		}
		n := len(s.Attempts) + 1
		tc := plan[s.Case]
		var err error
		if n <= tc.failures {
			err = tc.err(n)
		}
		a := attempt{At: time.Now().UnixMilli()}
		if err != nil {
			a.Err = err.Error()
			s.LastErr = err
		} else {
			s.Succeeded = true
		}
		s.Attempts = append(s.Attempts, a)
		r.mu.Unlock()
		return err
	}
}

func (r *recorder) done(expected int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	finished := 0
	for _, s := range r.byID {
		if s.Succeeded || (s.LastErr != nil && (errors.Is(s.LastErr, errPermanent) || len(s.Attempts) == maxRetries+1)) {
			finished++
		}
	}
	return finished == expected
}

func must(err error, what string) {
	if err != nil {
		fmt.Fprintf(os.Stderr, "watermill-capture: %s: %v\n", what, err)
		os.Exit(1)
	}
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func redisClient() *redis.Client {
	opts, err := redis.ParseURL(env("DLQ_CAPTURE_REDIS", "redis://127.0.0.1:16379"))
	must(err, "redis url")
	return redis.NewClient(opts)
}

// saramaConfig raises the protocol version: watermill-kafka's default (V1_0_0_0) speaks request versions
// Kafka 4 no longer accepts (KIP-896).
func saramaConfig(base *sarama.Config) *sarama.Config {
	base.Version = sarama.V3_6_0_0
	return base
}

func recreateKafka(brokers []string) {
	admin, err := sarama.NewClusterAdmin(brokers, saramaConfig(sarama.NewConfig()))
	must(err, "kafka admin")
	defer admin.Close()
	topics, err := admin.ListTopics()
	must(err, "list topics")
	for _, t := range []string{kafkaSource, kafkaPoison} {
		if _, ok := topics[t]; ok {
			must(admin.DeleteTopic(t), "delete "+t)
		}
	}
	want := map[string]int32{kafkaSource: 3, kafkaPoison: 2}
	for _, t := range []string{kafkaSource, kafkaPoison} {
		deadline := time.Now().Add(30 * time.Second)
		for {
			err := admin.CreateTopic(t, &sarama.TopicDetail{NumPartitions: want[t], ReplicationFactor: 1}, false)
			if err == nil {
				break
			}
			if time.Now().After(deadline) || !(errors.Is(err, sarama.ErrTopicAlreadyExists) || strings.Contains(err.Error(), "marked for deletion")) {
				must(err, "create "+t)
			}
			time.Sleep(300 * time.Millisecond)
		}
	}
}

func kafkaPartitionKey(_ string, msg *message.Message) (string, error) {
	return msg.Metadata.Get("customer"), nil
}

func capture() {
	ctx := context.Background()
	brokers := []string{env("DLQ_CAPTURE_KAFKA", "127.0.0.1:19092")}
	out := env("DLQ_CAPTURE_OUT", "fixtures/captured/watermill")
	logger := watermill.NewStdLogger(false, false)
	rc := redisClient()
	defer rc.Close()
	must(rc.Del(ctx, redisSource, redisPoison).Err(), "redis del")
	recreateKafka(brokers)

	// Publishers: the originals and the poison queue share one publisher per backend, as an application would.
	rpub, err := redisstream.NewPublisher(redisstream.PublisherConfig{Client: rc}, logger)
	must(err, "redis publisher")
	marshaler := kafka.NewWithPartitioningMarshaler(kafkaPartitionKey)
	kpub, err := kafka.NewPublisher(kafka.PublisherConfig{Brokers: brokers, Marshaler: marshaler,
		OverwriteSaramaConfig: saramaConfig(kafka.DefaultSaramaSyncPublisherConfig())}, logger)
	must(err, "kafka publisher")

	plan := map[string]testCase{}
	var originals []*message.Message
	for _, backend := range []string{"redis", "kafka"} {
		for _, tc := range cases() {
			plan[tc.name] = tc
			payload := tc.payload
			if len(payload) > 0 { // unique payloads across backends (the empty one is unique by uuid)
				payload = append(append([]byte(nil), payload...), []byte(" #"+backend)...)
			}
			msg := message.NewMessage(watermill.NewUUID(), payload)
			msg.Metadata.Set("case", tc.name)
			msg.Metadata.Set("customer", tc.customer)
			msg.Metadata.Set("source_topic", "legacy-orders-v1") // a user key that must survive as user metadata
			msg.Metadata.Set("trace_id", "trace-"+backend+"-"+tc.name)
			for k, v := range tc.extraMeta {
				msg.Metadata.Set(k, v)
			}
			if backend == "redis" {
				must(rpub.Publish(redisSource, msg), "publish redis")
			} else {
				must(kpub.Publish(kafkaSource, msg), "publish kafka")
			}
			originals = append(originals, msg)
		}
	}

	rsub, err := redisstream.NewSubscriber(redisstream.SubscriberConfig{Client: rc, ConsumerGroup: group, Consumer: "capture-1"}, logger)
	must(err, "redis subscriber")
	subCfg := saramaConfig(kafka.DefaultSaramaSubscriberConfig())
	subCfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	ksub, err := kafka.NewSubscriber(kafka.SubscriberConfig{Brokers: brokers, Unmarshaler: marshaler, ConsumerGroup: group,
		OverwriteSaramaConfig: subCfg}, logger)
	must(err, "kafka subscriber")

	router, err := message.NewRouter(message.RouterConfig{}, logger)
	must(err, "router")
	rec := &recorder{byID: map[string]*seen{}}
	retry := middleware.Retry{MaxRetries: maxRetries, InitialInterval: 20 * time.Millisecond, Multiplier: 2,
		ShouldRetry: func(p middleware.RetryParams) bool { return !errors.Is(p.Err, errPermanent) }}
	rpq, err := middleware.PoisonQueue(rpub, redisPoison)
	must(err, "redis poison queue")
	kpq, err := middleware.PoisonQueue(kpub, kafkaPoison)
	must(err, "kafka poison queue")
	// Handler-level, poison first: PoisonQueue wraps Retry, so a message is poisoned after its last attempt.
	router.AddConsumerHandler(redisHandler, redisSource, rsub, rec.handler("redis", plan)).AddMiddleware(rpq, retry.Middleware)
	router.AddConsumerHandler(kafkaHandler, kafkaSource, ksub, rec.handler("kafka", plan)).AddMiddleware(kpq, retry.Middleware)

	started := time.Now()
	go func() { must(router.Run(ctx), "router") }()
	for !rec.done(len(originals)) {
		if time.Since(started) > 120*time.Second {
			must(errors.New("timed out"), "waiting for the handlers")
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // the poison publish and the ack follow the handler's last return
	must(router.Close(), "router close")
	must(kpub.Close(), "kafka publisher close")
	fmt.Fprintf(os.Stderr, "watermill-capture: %d messages handled in %.1f s\n", len(originals), time.Since(started).Seconds())

	// Where each Redis original landed (the handler is not told its entry id).
	entryOf := map[string]string{}
	rc2 := redisClient() // closing the router closed the subscriber's client
	defer rc2.Close()
	xs, err := rc2.XRange(ctx, redisSource, "-", "+").Result()
	must(err, "xrange source")
	for _, x := range xs {
		if id, ok := x.Values[redisstream.UUIDHeaderKey].(string); ok {
			entryOf[id] = x.ID
		}
	}

	py, dump := env("DLQ_CAPTURE_PYTHON", "python3"), os.Getenv("DLQ_CAPTURE_DUMP")
	for _, args := range [][]string{
		{dump, "redis", env("DLQ_CAPTURE_REDIS", "redis://127.0.0.1:16379"), out + "/redis.ndjson", redisPoison},
		{dump, "kafka", brokers[0], out + "/kafka.ndjson", kafkaPoison},
	} {
		cmd := exec.Command(py, args...)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		must(cmd.Run(), "dump")
	}
	writeTruth(out, rec, entryOf)
	writeCaptureJSON(out)
}

func b64(b []byte) *string {
	if b == nil {
		return nil
	}
	s := base64.StdEncoding.EncodeToString(b)
	return &s
}

type errInfo struct {
	Class   string   `json:"class"`
	Message *string  `json:"message"`
	Cause   *errInfo `json:"cause"`
}

func describe(err error) *errInfo {
	if err == nil {
		return nil
	}
	m := err.Error()
	info := &errInfo{Class: fmt.Sprintf("%T", err), Message: &m}
	if u := errors.Unwrap(err); u != nil {
		info.Cause = describe(u)
	}
	return info
}

type header struct {
	Key   string  `json:"key"`
	Value *string `json:"value"`
}

func metaHeaders(md map[string]string) []header {
	keys := make([]string, 0, len(md))
	for k := range md {
		keys = append(keys, k)
	}
	sort.Strings(keys) // metadata is a Go map: it has no order, so the truth lists it sorted
	out := []header{}
	for _, k := range keys {
		out = append(out, header{k, b64([]byte(md[k]))})
	}
	return out
}

func readNDJSON(path string) []map[string]any {
	f, err := os.Open(path)
	must(err, "open "+path)
	defer f.Close()
	var rows []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var m map[string]any
		must(json.Unmarshal(sc.Bytes(), &m), "parse "+path)
		rows = append(rows, m)
	}
	return rows
}

func unb64(v any) string {
	s, _ := v.(string)
	b, err := base64.StdEncoding.DecodeString(s)
	must(err, "base64")
	return string(b)
}

func writeTruth(out string, rec *recorder, entryOf map[string]string) {
	type dumped struct {
		dlq  map[string]any
		uuid string
	}
	var rows []dumped
	for _, r := range readNDJSON(out + "/redis.ndjson") {
		d := dumped{dlq: map[string]any{"stream": r["stream"], "id": r["id"]}}
		for _, f := range r["fields"].([]any) {
			fm := f.(map[string]any)
			if unb64(fm["name"]) == redisstream.UUIDHeaderKey {
				d.uuid = unb64(fm["value"])
			}
		}
		rows = append(rows, d)
	}
	for _, r := range readNDJSON(out + "/kafka.ndjson") {
		d := dumped{dlq: map[string]any{"topic": r["topic"], "partition": r["partition"], "offset": r["offset"]}}
		for _, h := range r["headers"].([]any) {
			hm := h.(map[string]any)
			if hm["key"] == kafka.UUIDHeaderKey {
				d.uuid = unb64(hm["value"])
			}
		}
		rows = append(rows, d)
	}
	f, err := os.Create(out + "/truth.ndjson")
	must(err, "create truth")
	defer f.Close()
	matched := map[string]bool{}
	for _, d := range rows {
		s := rec.byID[d.uuid]
		if s == nil || s.Succeeded {
			must(fmt.Errorf("poison record %v (uuid %q) matches no failed message", d.dlq, d.uuid), "join")
		}
		matched[d.uuid] = true
		source := map[string]any{"topic": s.Topic, "partition": nil, "offset": nil, "key": nil,
			"value": b64(append([]byte{}, s.Payload...)), "headers": metaHeaders(s.Metadata), "timestamp": nil}
		extra := map[string]any{"backend": s.Backend, "uuid": s.UUID, "case": s.Case, "attemptLog": s.Attempts,
			"handler": map[string]string{"redis": redisHandler, "kafka": kafkaHandler}[s.Backend], "group": group}
		if s.Backend == "redis" {
			extra["sourceEntryId"] = entryOf[s.UUID]
			extra["subscriber"] = "redisstream.Subscriber"
		} else {
			source["partition"], source["offset"], source["timestamp"] = s.Partition, fmt.Sprint(*s.Offset), s.Timestamp
			if s.HasKey {
				source["key"] = b64(append([]byte{}, s.Key...))
			}
			extra["subscriber"] = "kafka.Subscriber"
			extra["partitionKey"] = s.Metadata["customer"]
			// on Kafka the uuid travels as a header of the original record too
			extra["sourceUuidHeader"] = kafka.UUIDHeaderKey
		}
		line := map[string]any{
			"dlq": d.dlq, "source": source, "error": describe(s.LastErr),
			"reason":   s.LastErr.Error(), // what PoisonQueue writes as reason_poisoned: err.Error() of the final error
			"attempts": len(s.Attempts), "failedAt": s.Attempts[len(s.Attempts)-1].At, "extra": extra,
		}
		b, err := json.Marshal(line)
		must(err, "marshal truth")
		f.Write(append(b, '\n'))
	}
	for id, s := range rec.byID {
		if !s.Succeeded && !matched[id] {
			must(fmt.Errorf("message %s (%s/%s) failed but is not in the poison queue", id, s.Backend, s.Case), "join")
		}
	}
	fmt.Fprintf(os.Stderr, "watermill-capture: %d truth lines -> %s/truth.ndjson\n", len(rows), out)
}

func modVersion(path string) string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == path {
				return d.Version
			}
		}
	}
	return "unknown"
}

func writeCaptureJSON(out string) {
	c := map[string]any{
		"writer": "watermill",
		"library": map[string]any{"name": "github.com/ThreeDotsLabs/watermill", "version": modVersion("github.com/ThreeDotsLabs/watermill"),
			"modules": map[string]string{
				"github.com/ThreeDotsLabs/watermill-redisstream": modVersion("github.com/ThreeDotsLabs/watermill-redisstream"),
				"github.com/ThreeDotsLabs/watermill-kafka/v3":    modVersion("github.com/ThreeDotsLabs/watermill-kafka/v3"),
				"github.com/IBM/sarama":                          modVersion("github.com/IBM/sarama"),
				"github.com/redis/go-redis/v9":                   modVersion("github.com/redis/go-redis/v9"),
			}, "source": "https://github.com/ThreeDotsLabs/watermill"},
		"runtime":    runtime.Version(),
		"store":      "redis+kafka",
		"dlq":        []string{redisPoison, kafkaPoison},
		"capturedAt": time.Now().UTC().Format(time.RFC3339),
		"notes": []string{
			"one message.Router, two handlers (" + redisHandler + " on Redis stream " + redisSource + ", " + kafkaHandler + " on Kafka topic " + kafkaSource + " with 3 partitions), " +
				"each with handler-level middleware PoisonQueue(publisher, <source>-poison) wrapping Retry{MaxRetries: 2, ShouldRetry: not errors.Is(err, errPermanent)}",
			"PoisonQueue re-publishes the same message (same uuid, payload, metadata) with reason_poisoned = err.Error() of the final error, topic_poisoned, handler_poisoned, subscriber_poisoned added to the metadata",
			"Redis: watermill-redisstream's DefaultMarshallerUnmarshaller writes _watermill_message_uuid, metadata (msgpack map of string to string) and payload; the fields come from a Go map, so their order differs from entry to entry",
			"Kafka: kafka.NewWithPartitioningMarshaler keyed by metadata customer (sarama's default hash partitioner, FNV-1a); the header _watermill_message_uuid comes first, then the metadata in Go map order; " +
				"the poison record is published with the same marshaler, so its key is the partition key again and its partition is chosen by hash on the 2-partition poison topic",
			"Kafka poison records carry no source partition, offset, key or time: the subscriber puts those in the message context only; the truth has them from the handler's context",
			"Redis poison entries carry no source entry id: the truth's extra.sourceEntryId was read from the source stream by uuid after the run",
			"sarama's protocol version is raised to 3.6 (watermill-kafka's default V1_0_0_0 is older than Kafka 4 accepts)",
			"metadata is a Go map: truth lists it sorted by key; the source_topic user key (legacy-orders-v1) is application metadata, not the poison queue's topic_poisoned",
		},
	}
	b, err := json.MarshalIndent(c, "", "  ")
	must(err, "marshal capture.json")
	must(os.WriteFile(out+"/capture.json", append(b, '\n'), 0o644), "write capture.json")
}

func mkgroup(stream, grp string) {
	rc := redisClient()
	defer rc.Close()
	err := rc.XGroupCreateMkStream(context.Background(), stream, grp, "0").Err()
	if err != nil && !strings.Contains(err.Error(), "BUSYGROUP") {
		must(err, "xgroup create")
	}
}

// errorLog keeps what the subscriber logs, so the probe can say why nothing was delivered.
type errorLog struct {
	watermill.LoggerAdapter
	mu     sync.Mutex
	errors []string
}

func (l *errorLog) Error(msg string, err error, fields watermill.LogFields) {
	l.mu.Lock()
	l.errors = append(l.errors, fmt.Sprintf("%s: %v", msg, err))
	l.mu.Unlock()
}

func (l *errorLog) With(fields watermill.LogFields) watermill.LoggerAdapter { return l }

func probe(stream, grp string, appendValid bool) {
	rc := redisClient()
	defer rc.Close()
	logger := &errorLog{LoggerAdapter: watermill.NopLogger{}}
	if appendValid { // a well-formed Watermill entry after the others: is it still delivered?
		pub, err := redisstream.NewPublisher(redisstream.PublisherConfig{Client: rc}, logger)
		must(err, "publisher")
		valid := message.NewMessage("probe-valid-"+watermill.NewShortUUID(), []byte(`{"probe":"valid"}`))
		valid.Metadata.Set("probe", "appended after the others")
		must(pub.Publish(stream, valid), "publish valid")
	}
	sub, err := redisstream.NewSubscriber(redisstream.SubscriberConfig{Client: rc, ConsumerGroup: grp, Consumer: "probe-1",
		BlockTime: 200 * time.Millisecond, DisableIndefiniteInitialBlock: true}, logger)
	must(err, "subscriber")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
	defer cancel()
	ch, err := sub.Subscribe(ctx, stream)
	must(err, "subscribe")
	type got struct {
		UUID     string             `json:"uuid"`
		Metadata map[string]*string `json:"metadata"` // base64: values are bytes (JSON would mangle invalid UTF-8)
		Payload  *string            `json:"payload"`
	}
	received := []got{}
	for {
		select {
		case m, ok := <-ch:
			if !ok {
				ch = nil
				continue
			}
			md := map[string]*string{}
			for k, v := range m.Metadata {
				md[k] = b64([]byte(v))
			}
			received = append(received, got{m.UUID, md, b64(append([]byte{}, m.Payload...))})
			m.Ack()
			continue
		case <-ctx.Done():
		}
		break
	}
	sub.Close()
	rc2 := redisClient() // Close closed the subscriber's client
	defer rc2.Close()
	pending, err := rc2.XPending(context.Background(), stream, grp).Result()
	must(err, "xpending")
	logger.mu.Lock()
	defer logger.mu.Unlock()
	errs := map[string]int{}
	for _, e := range logger.errors {
		errs[e]++
	}
	b, _ := json.MarshalIndent(map[string]any{"stream": stream, "group": grp, "received": received,
		"loggedErrors": errs, "pending": pending.Count}, "", "  ")
	fmt.Println(string(b))
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: watermill-capture capture | mkgroup STREAM GROUP | probe STREAM GROUP")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "capture":
		capture()
	case "mkgroup":
		mkgroup(os.Args[2], os.Args[3])
	case "probe":
		probe(os.Args[2], os.Args[3], len(os.Args) > 4 && os.Args[4] == "--append-valid")
	default:
		fmt.Fprintln(os.Stderr, "unknown mode "+os.Args[1])
		os.Exit(2)
	}
}
