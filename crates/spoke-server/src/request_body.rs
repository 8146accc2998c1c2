//! The request body as handlers see it: cut when the client stops sending
//! (the read timeout between two reads, as nginx's `client_body_timeout`),
//! and, when a handler answers without reading it all (413, 415, 404, 405,
//! …), discarded in the background within bounds before the connection is
//! closed or reused — nginx's lingering close. Without that, an HTTP/1
//! client that writes its whole body before reading (Python's urllib and
//! requests do) gets a connection reset instead of the answer: closing a
//! socket with unread bytes sends RST, which discards the response the
//! client has not read yet.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use http_body_util::BodyExt as _;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use tokio::time::{Instant, Sleep};

/// Lingering gives up after this long in total (nginx's `lingering_time`).
const LINGER_TIME: Duration = Duration::from_secs(30);
/// … or after this long without a byte (nginx's `lingering_timeout`).
const LINGER_READ_TIMEOUT: Duration = Duration::from_secs(5);

/// How an unread request body is read and, if left unread, discarded.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BodyLimits {
    /// The longest wait for the next body bytes; `SPOKE_READ_TIMEOUT`.
    pub(crate) read_timeout: Duration,
    /// The most bytes discarded after an early answer; beyond, the
    /// connection is closed.
    pub(crate) linger_max_bytes: u64,
}

impl BodyLimits {
    pub(crate) fn new(read_timeout: Duration, max_body_bytes: usize) -> BodyLimits {
        // Clients that overshoot the limit by a lot (an 80 MiB upload against
        // 64 MiB) still get their answer; endless bodies do not hold us.
        const LINGER_MIN_BYTES: u64 = 64 << 20;
        let max_body_bytes = u64::try_from(max_body_bytes).unwrap_or(u64::MAX);
        BodyLimits {
            read_timeout,
            linger_max_bytes: max_body_bytes.saturating_mul(4).max(LINGER_MIN_BYTES),
        }
    }
}

/// The body error when the client sent nothing for the read timeout. Its
/// kind is [`io::ErrorKind::TimedOut`], which the REST front-end answers
/// with 408.
fn body_timeout(limit: Duration) -> io::Error {
    io::Error::new(
        io::ErrorKind::TimedOut,
        format!(
            "no request body bytes arrived for {} (SPOKE_READ_TIMEOUT)",
            humantime::format_duration(limit)
        ),
    )
}

/// A request's body. `G` is held until the body is done with, including
/// its lingering discard, so the connection counts the request as in flight.
pub(crate) struct RequestBody<G: Send + Unpin + 'static> {
    inner: Option<Incoming>,
    limits: BodyLimits,
    /// Bytes still unread on the connection would break an HTTP/1
    /// exchange; HTTP/2 resets the stream instead.
    linger: bool,
    /// With `Expect: 100-continue` and the body never asked for, the client
    /// has not sent it: nothing to discard.
    awaits_continue: bool,
    ended: bool,
    timed_out: bool,
    /// The read-timeout timer, started when the handler begins to wait for
    /// bytes: time the handler spends elsewhere is not the client's.
    gap: Option<Pin<Box<Sleep>>>,
    waiting: bool,
    guard: Option<G>,
}

impl<G: Send + Unpin + 'static> RequestBody<G> {
    pub(crate) fn new(
        inner: Incoming,
        http1: bool,
        expects_continue: bool,
        limits: BodyLimits,
        guard: G,
    ) -> RequestBody<G> {
        RequestBody {
            ended: inner.is_end_stream(),
            inner: Some(inner),
            limits,
            linger: http1,
            awaits_continue: expects_continue,
            timed_out: false,
            gap: None,
            waiting: false,
            guard: Some(guard),
        }
    }
}

impl<G: Send + Unpin + 'static> Body for RequestBody<G> {
    type Data = bytes::Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = &mut *self;
        let Some(inner) = this.inner.as_mut().filter(|_| !this.ended) else {
            return Poll::Ready(None);
        };
        this.awaits_continue = false;
        match Pin::new(inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                this.waiting = false;
                match frame {
                    None => {
                        this.ended = true;
                        Poll::Ready(None)
                    }
                    Some(frame) => Poll::Ready(Some(frame.map_err(Into::into))),
                }
            }
            Poll::Pending => {
                let read_timeout = this.limits.read_timeout;
                let gap = this
                    .gap
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(read_timeout)));
                if !this.waiting {
                    this.waiting = true;
                    gap.as_mut().reset(Instant::now() + read_timeout);
                }
                ready!(gap.as_mut().poll(cx));
                this.timed_out = true;
                Poll::Ready(Some(Err(body_timeout(read_timeout).into())))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.ended || self.inner.as_ref().is_none_or(Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.inner
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), Body::size_hint)
    }
}

impl<G: Send + Unpin + 'static> Drop for RequestBody<G> {
    fn drop(&mut self) {
        let unread = !self.is_end_stream();
        let (Some(inner), Some(guard)) = (self.inner.take(), self.guard.take()) else {
            return;
        };
        // A client that went silent is not waited for again.
        if !unread || !self.linger || self.awaits_continue || self.timed_out {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(discard(inner, self.limits.linger_max_bytes, guard));
        }
    }
}

/// `request` with its body wrapped in a [`RequestBody`] holding `guard`.
pub(crate) fn wrap<G: Send + Unpin + 'static>(
    request: hyper::Request<Incoming>,
    limits: BodyLimits,
    guard: G,
) -> hyper::Request<axum::body::Body> {
    let http1 = request.version() <= hyper::Version::HTTP_11;
    let expects_continue = request
        .headers()
        .get(hyper::header::EXPECT)
        .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    request.map(|body| {
        axum::body::Body::new(RequestBody::new(
            body,
            http1,
            expects_continue,
            limits,
            guard,
        ))
    })
}

/// Reads and drops the rest of `body`, within the lingering bounds, so that
/// hyper can finish the exchange (and keep the connection alive if the
/// whole body arrives). Giving up drops the body: hyper then closes the
/// connection after the response.
async fn discard<G>(mut body: Incoming, max_bytes: u64, guard: G) {
    let mut discarded = 0u64;
    let drained = tokio::time::timeout(LINGER_TIME, async {
        loop {
            match tokio::time::timeout(LINGER_READ_TIMEOUT, body.frame()).await {
                Ok(None) => return true,
                Ok(Some(Ok(frame))) => {
                    let len = frame.data_ref().map_or(0, bytes::Bytes::len);
                    discarded = discarded.saturating_add(u64::try_from(len).unwrap_or(u64::MAX));
                    if discarded > max_bytes {
                        return false;
                    }
                }
                Ok(Some(Err(_))) | Err(_) => return false,
            }
        }
    })
    .await
    .unwrap_or(false);
    tracing::debug!(
        discarded_bytes = discarded,
        drained,
        "discarded the unread rest of a request body"
    );
    drop(guard);
}
