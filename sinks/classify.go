package sinks

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/url"
	"syscall"

	chproto "github.com/ClickHouse/ch-go/proto"
	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Class is what the engine should do with a failed delivery.
type Class uint8

const (
	// Retryable: the events may well be accepted later; retry with backoff
	// (at least RetryAfter), and dead-letter only after the configured
	// attempts or age.
	Retryable Class = iota + 1
	// Permanent: these events will never be accepted as they are; send them
	// to the dead-letter topic now with the reason.
	Permanent
)

// String is "retryable" or "permanent".
func (c Class) String() string {
	switch c {
	case Retryable:
		return "retryable"
	case Permanent:
		return "permanent"
	}
	return "none"
}

// Classify decides whether a delivery error is worth retrying and says why.
// It walks err's tree and decides at the most specific error it knows (a
// ClickHouse exception inside an HTTP error, a TLS error inside a URL error).
// An error joining several is retryable when any part is, since retrying the
// permanent part costs only attempts. Errors it does not recognise are
// retryable: the attempt limit bounds them, and dead-lettering events for a
// reason nobody classified would lose them to a bug. Classify(nil) is 0.
func Classify(err error) (Class, string) {
	if err == nil {
		return 0, "no error"
	}
	if c, reason, ok := classify(err); ok {
		return c, reason
	}
	return Retryable, "unrecognised error: retried until the attempt limit, then dead-lettered"
}

// classify is Classify that reports ok = false for errors it does not know.
func classify(err error) (Class, string, bool) {
	if c, reason, ok := classifyNode(err); ok {
		return c, reason, true
	}
	switch u := err.(type) {
	case interface{ Unwrap() []error }:
		var first Class
		var firstReason string
		unknown := false
		for _, e := range u.Unwrap() {
			c, reason, ok := classify(e)
			switch {
			case !ok:
				unknown = true
			case c == Retryable:
				return c, reason, true
			case first == 0:
				first, firstReason = c, reason
			}
		}
		if first != 0 && !unknown {
			return first, firstReason, true
		}
	case interface{ Unwrap() error }:
		if inner := u.Unwrap(); inner != nil {
			return classify(inner)
		}
	}
	return 0, "", false
}

// classifyNode decides on err itself, without looking at what it wraps,
// except for wrappers whose own type carries less than their cause.
func classifyNode(err error) (Class, string, bool) {
	switch err {
	case ErrClosed:
		return Retryable, "the sink closed before delivering: deliver again once it is open", true
	case ErrPlanNotReady:
		return Retryable, "the sink's tracking-plan table has not caught up with the plan version the event names", true
	case context.Canceled:
		return Retryable, "the delivery was cancelled (shutdown or rebalance) before the destination confirmed it", true
	case context.DeadlineExceeded:
		return Retryable, "the destination did not answer in time", true
	case io.EOF, io.ErrUnexpectedEOF:
		return Retryable, "the connection closed before the destination answered", true
	case kgo.ErrRecordTimeout:
		return Retryable, "the brokers did not acknowledge the records within the delivery timeout", true
	case kgo.ErrRecordRetries:
		return Retryable, "the client gave up resending the records to the brokers", true
	case kgo.ErrClientClosed:
		return Retryable, "the Kafka client closed before the records were acknowledged", true
	case kgo.ErrAborting:
		return Retryable, "the transaction was being aborted: the records were not written", true
	}
	switch e := err.(type) {
	case *StatusError:
		c, reason := classifyStatus(e.Code)
		return c, reason, true
	case *SchemaError:
		return Permanent, "the event's schema needs an incompatible column change, which sluice refuses", true
	case *ch.Exception:
		c, reason := classifyClickHouse(chproto.Error(e.Code))
		return c, reason, true
	case *ch.HTTPError:
		// The server's exception, when there is one, says more than the status.
		if c, reason, ok := classify(e.Err); ok {
			return c, reason, true
		}
		c, reason := classifyStatus(e.StatusCode)
		return c, reason, true
	case *kerr.Error:
		c, reason := classifyKafka(e)
		return c, reason, true
	case *url.Error:
		return classifyDeeper(e.Err)
	case *tls.CertificateVerificationError, x509.UnknownAuthorityError, x509.HostnameError, x509.CertificateInvalidError:
		return Retryable, "the destination's TLS certificate did not verify: fix the TLS settings; events wait meanwhile", true
	case tls.RecordHeaderError:
		return Retryable, "the destination did not speak TLS: fix the tls setting; events wait meanwhile", true
	case syscall.Errno:
		switch e {
		case syscall.ECONNREFUSED:
			return Retryable, "the destination refused the connection (down or restarting)", true
		case syscall.ECONNRESET, syscall.EPIPE, syscall.ECONNABORTED:
			return Retryable, "the destination dropped the connection", true
		case syscall.ETIMEDOUT, syscall.EHOSTUNREACH, syscall.ENETUNREACH:
			return Retryable, "the destination is unreachable", true
		}
	case *net.DNSError:
		return Retryable, "the destination's host name did not resolve", true
	case *net.OpError:
		if c, reason, ok := classify(e.Err); ok {
			return c, reason, true
		}
		return Retryable, "network error talking to the destination", true
	case net.Error:
		if e.Timeout() {
			return Retryable, "the destination did not answer in time", true
		}
	}
	return 0, "", false
}

// classifyDeeper classifies a wrapper by its cause, or as a network error.
func classifyDeeper(inner error) (Class, string, bool) {
	if c, reason, ok := classify(inner); ok {
		return c, reason, true
	}
	return Retryable, "network error talking to the destination", true
}

// classifyStatus classifies an HTTP status a destination answered with.
func classifyStatus(code int) (Class, string) {
	switch {
	case code == 408:
		return Retryable, "HTTP 408: the destination timed out reading the request"
	case code == 429:
		return Retryable, "HTTP 429: the destination is rate limiting; wait Retry-After"
	case code >= 500:
		return Retryable, "HTTP 5xx: the destination failed or is unavailable"
	case code >= 400:
		return Permanent, "HTTP 4xx: the destination refuses these events as they are"
	case code >= 300:
		return Permanent, "HTTP 3xx: redirects are not followed; point the destination at the final URL"
	}
	return Retryable, "unexpected HTTP status"
}

// classifyClickHouse classifies a ClickHouse server exception by its code.
func classifyClickHouse(code chproto.Error) (Class, string) {
	switch code {
	// The data or the statement can never be accepted as they are.
	case chproto.ErrCannotParseText, chproto.ErrCannotParseInputAssertionFailed, chproto.ErrCannotParseDate,
		chproto.ErrCannotParseDatetime, chproto.ErrCannotParseNumber, chproto.ErrCannotParseUUID,
		chproto.ErrIncorrectData, chproto.ErrValueIsOutOfRangeOfDataType, chproto.ErrDecimalOverflow,
		chproto.ErrCannotConvertType, chproto.ErrTooLargeStringSize, chproto.ErrCannotInsertNullInOrdinaryColumn,
		chproto.ErrTooDeepRecursion, chproto.ErrArgumentOutOfBound:
		return Permanent, "ClickHouse cannot store these values (" + code.String() + ")"
	case chproto.ErrNoSuchColumnInTable, chproto.ErrThereIsNoColumn, chproto.ErrTypeMismatch,
		chproto.ErrIllegalColumn, chproto.ErrIllegalTypeOfArgument, chproto.ErrNumberOfColumnsDoesntMatch,
		chproto.ErrIncorrectNumberOfColumns, chproto.ErrSizesOfColumnsDoesntMatch, chproto.ErrDuplicateColumn,
		chproto.ErrUnknownType:
		return Permanent, "the table does not match sluice's DDL (" + code.String() + "): someone changed it by hand"
	case chproto.ErrSyntaxError, chproto.ErrIncorrectQuery, chproto.ErrUnknownIdentifier:
		return Permanent, "ClickHouse rejected sluice's statement (" + code.String() + ")"
	case chproto.ErrTooManyPartitions:
		return Permanent, "the batch spans more table partitions than one insert may create"

	// The server or cluster is in a passing state.
	case chproto.ErrTimeoutExceeded, chproto.ErrSocketTimeout, chproto.ErrNetworkError,
		chproto.ErrAllConnectionTriesFailed, chproto.ErrUnexpectedEndOfFile, chproto.ErrAttemptToReadAfterEOF,
		chproto.ErrCannotReadAllData:
		return Retryable, "ClickHouse connection trouble (" + code.String() + ")"
	case chproto.ErrTooManySimultaneousQueries, chproto.ErrTooManyParts, chproto.ErrMemoryLimitExceeded,
		chproto.ErrCannotAllocateMemory, chproto.ErrNotEnoughSpace, chproto.ErrQuotaExceeded,
		chproto.ErrCannotScheduleTask, chproto.ErrPartIsTemporarilyLocked:
		return Retryable, "ClickHouse is overloaded (" + code.String() + "): back off"
	case chproto.ErrTableIsReadOnly, chproto.ErrKeeperException, chproto.ErrTooFewLiveReplicas,
		chproto.ErrUnsatisfiedQuorumForPreviousWrite, chproto.ErrUnknownStatusOfInsert, chproto.ErrAborted,
		chproto.ErrQueryWasCancelled:
		return Retryable, "ClickHouse replication or the insert's outcome is uncertain (" + code.String() + "): the deduplication token makes a retry safe"
	case chproto.ErrUnknownTable, chproto.ErrUnknownDatabase, chproto.ErrTableIsDropped:
		return Retryable, "a sluice table is missing (" + code.String() + "): the sink recreates its tables when it reopens"
	case chproto.ErrReadonly, chproto.ErrAccessDenied, chproto.ErrAuthenticationFailed, chproto.ErrUnknownUser,
		chproto.ErrWrongPassword, chproto.ErrRequiredPassword, chproto.ErrDatabaseAccessDenied:
		return Retryable, "ClickHouse refuses sluice's user (" + code.String() + "): fix the credentials or grants; events wait meanwhile"
	}
	return Retryable, "ClickHouse exception sluice does not classify (" + code.String() + "): retried until the attempt limit"
}

// classifyKafka classifies a Kafka protocol error.
func classifyKafka(e *kerr.Error) (Class, string) {
	switch e {
	case kerr.MessageTooLarge, kerr.RecordListTooLarge, kerr.InvalidRecord, kerr.CorruptMessage,
		kerr.InvalidTopicException:
		return Permanent, "the brokers refuse these records as they are (" + e.Message + ")"
	case kerr.TopicAuthorizationFailed, kerr.ClusterAuthorizationFailed, kerr.TransactionalIDAuthorizationFailed,
		kerr.SaslAuthenticationFailed, kerr.UnsupportedSaslMechanism:
		return Retryable, "the brokers refuse sluice's credentials or ACLs (" + e.Message + "): fix them; events wait meanwhile"
	case kerr.ProducerFenced, kerr.InvalidProducerEpoch, kerr.InvalidProducerIDMapping, kerr.InvalidTxnState,
		kerr.TransactionCoordinatorFenced:
		return Retryable, "another producer took over this transactional id (" + e.Message + "): the sink starts a new session"
	}
	if e.Retriable {
		return Retryable, "the brokers ask to retry (" + e.Message + ")"
	}
	return Retryable, "Kafka error sluice does not classify (" + e.Message + "): retried until the attempt limit"
}
