//! What the metrics endpoint answers: always a complete HTTP/1.1 response with a length and
//! `Connection: close`, so a scraper never waits for more and each connection serves one request.

use super::request::Route;

/// The OpenMetrics text exposition format, which `prometheus-client` encodes and Prometheus
/// negotiates first.
pub const OPENMETRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// One response, ready to be written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The status line's reason phrase.
    pub reason: &'static str,
    /// The body's media type.
    pub content_type: &'static str,
    /// The body.
    pub body: String,
}

impl Response {
    /// 200 with the exposition `text`.
    pub fn metrics(text: String) -> Self {
        Response { status: 200, reason: "OK", content_type: OPENMETRICS_CONTENT_TYPE, body: text }
    }

    /// 503: the metrics could not be gathered in time.
    pub fn unavailable() -> Self {
        plain(503, "Service Unavailable", "the metrics could not be gathered in time; retry the scrape\n")
    }

    /// The error response for a route that is not [`Route::Metrics`]; 200 with an empty body for
    /// that one (callers answer it with [`Response::metrics`]).
    ///
    /// ```
    /// use quorumnet::operator::metrics::request::Route;
    /// use quorumnet::operator::metrics::response::Response;
    ///
    /// assert_eq!(Response::refusal(Route::NotFound).status, 404);
    /// ```
    pub fn refusal(route: Route) -> Self {
        match route {
            Route::Metrics => Response::metrics(String::new()),
            Route::MethodNotAllowed => plain(405, "Method Not Allowed", "only GET is served at /metrics\n"),
            Route::NotFound => plain(404, "Not Found", "metrics are served at /metrics\n"),
            Route::BadRequest => plain(400, "Bad Request", "not an HTTP/1.1 request\n"),
            Route::HeadTooLarge => plain(431, "Request Header Fields Too Large", "request head over 8 KiB\n"),
        }
    }

    /// The bytes on the wire.
    ///
    /// ```
    /// use quorumnet::operator::metrics::response::Response;
    ///
    /// let bytes = Response::metrics("# EOF\n".into()).to_bytes();
    /// assert!(bytes.starts_with(b"HTTP/1.1 200 OK\r\n"));
    /// assert!(bytes.ends_with(b"Content-Length: 6\r\nConnection: close\r\n\r\n# EOF\n"));
    /// ```
    pub fn to_bytes(&self) -> Vec<u8> {
        let allow = if self.status == 405 { "Allow: GET\r\n" } else { "" };
        let head = format!(
            "HTTP/1.1 {} {}\r\nContent-Type: {}\r\n{allow}Content-Length: {}\r\nConnection: close\r\n\r\n",
            self.status,
            self.reason,
            self.content_type,
            self.body.len()
        );
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(self.body.as_bytes());
        bytes
    }
}

/// A plain-text error response.
fn plain(status: u16, reason: &'static str, body: &str) -> Response {
    Response { status, reason, content_type: "text/plain; charset=utf-8", body: body.to_owned() }
}
