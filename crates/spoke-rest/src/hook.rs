//! The shape every layer of the REST router and of the server's API stack
//! shares: a hook that may answer a request in place of the inner service,
//! and otherwise looks at the request before it runs and at the response
//! after, as a plain tower layer. Its future is the inner future plus the hook's memo:
//! no boxed future, no boxed or cloned inner service per request (what
//! axum's `from_fn` costs on every request, several times over in a stack).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use axum::extract::Request;
use axum::response::Response;
use pin_project_lite::pin_project;
use tower::{Layer, Service};

/// One concern of the stack.
pub trait Hook: Clone + Send + Sync + 'static {
    /// What [`Hook::before`] hands to [`Hook::after`].
    type Memo: Send + 'static;

    fn before(&self, request: &mut Request) -> Self::Memo;

    /// A response given in place of the inner service's, for a request
    /// refused before anything runs; `None` (the default) runs it. Asked
    /// before [`Hook::before`], and a refused request sees neither hook.
    fn refuse(&self, _request: &mut Request) -> Option<Response> {
        None
    }

    fn after(&self, memo: Self::Memo, response: Response) -> Response;

    /// The span the inner service runs in, entered on each poll.
    fn span(_memo: &Self::Memo) -> Option<&tracing::Span> {
        None
    }
}

#[derive(Clone)]
pub struct HookLayer<H>(pub H);

impl<H: Hook, S> Layer<S> for HookLayer<H> {
    type Service = HookService<H, S>;

    fn layer(&self, inner: S) -> Self::Service {
        HookService {
            hook: self.0.clone(),
            inner,
        }
    }
}

#[derive(Clone)]
pub struct HookService<H, S> {
    hook: H,
    inner: S,
}

impl<H, S> Service<Request> for HookService<H, S>
where
    H: Hook,
    S: Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = HookFuture<H, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        if let Some(response) = self.hook.refuse(&mut request) {
            return HookFuture::Refused {
                response: Some(response),
            };
        }
        let memo = self.hook.before(&mut request);
        HookFuture::Running {
            inner: self.inner.call(request),
            pending: Some((self.hook.clone(), memo)),
        }
    }
}

pin_project! {
    #[project = HookFutureProj]
    pub enum HookFuture<H: Hook, F> {
        Running {
            #[pin]
            inner: F,
            // Taken when the inner future is ready.
            pending: Option<(H, H::Memo)>,
        },
        Refused {
            // Taken when polled.
            response: Option<Response>,
        },
    }
}

impl<H, F, E> Future for HookFuture<H, F>
where
    H: Hook,
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let (inner, pending) = match self.project() {
            HookFutureProj::Running { inner, pending } => (inner, pending),
            // Polled again after it completed (tower's contract forbids
            // it): an empty response rather than a panic.
            HookFutureProj::Refused { response } => {
                return Poll::Ready(Ok(response.take().unwrap_or_default()));
            }
        };
        let answered = {
            let span = pending.as_ref().and_then(|(_, memo)| H::span(memo));
            let _entered = span.map(tracing::Span::enter);
            ready!(inner.poll(cx))
        };
        Poll::Ready(answered.map(|response| match pending.take() {
            Some((hook, memo)) => hook.after(memo, response),
            // Polled again after it completed: tower's contract forbids it.
            None => response,
        }))
    }
}
