//! What a scraper asks the metrics endpoint for, read from the request head alone (the endpoint
//! takes no request body, so none is read).

/// The most bytes of request head read before answering 431: Prometheus sends a few hundred.
pub const MAX_HEAD_BYTES: usize = 8 * 1024;

/// The most header lines parsed: more is answered like an oversized head.
const MAX_HEADERS: usize = 32;

/// The path the metrics are served at.
pub const METRICS_PATH: &str = "/metrics";

/// What a request head asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// `GET /metrics` (with or without a query string).
    Metrics,
    /// `/metrics` with a method other than GET.
    MethodNotAllowed,
    /// Any other path.
    NotFound,
    /// Not an HTTP/1.x request head.
    BadRequest,
    /// A head longer than [`MAX_HEAD_BYTES`], or with more than 32 header lines.
    HeadTooLarge,
}

/// The route of the request head received so far, or `None` while the head is incomplete and still
/// under [`MAX_HEAD_BYTES`] (read more, then ask again).
///
/// ```
/// use quorumnet::operator::metrics::request::{route, Route};
///
/// assert_eq!(route(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"), Some(Route::Metrics));
/// assert_eq!(route(b"GET /metrics HTTP/1.1\r\nHo"), None);
/// assert_eq!(route(b"GET / HTTP/1.1\r\n\r\n"), Some(Route::NotFound));
/// assert_eq!(route(b"\x00\x01garbage\r\n\r\n"), Some(Route::BadRequest));
/// ```
pub fn route(head: &[u8]) -> Option<Route> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    match request.parse(head) {
        Ok(httparse::Status::Complete(_)) => Some(route_of(request.method, request.path)),
        Ok(httparse::Status::Partial) if head.len() >= MAX_HEAD_BYTES => Some(Route::HeadTooLarge),
        Ok(httparse::Status::Partial) => None,
        Err(httparse::Error::TooManyHeaders) => Some(Route::HeadTooLarge),
        Err(_) => Some(Route::BadRequest),
    }
}

/// The route of a parsed request line.
fn route_of(method: Option<&str>, target: Option<&str>) -> Route {
    let path = target.map(|t| t.split_once('?').map_or(t, |(path, _query)| path));
    match (method, path) {
        (Some("GET"), Some(METRICS_PATH)) => Route::Metrics,
        (Some(_), Some(METRICS_PATH)) => Route::MethodNotAllowed,
        (Some(_), Some(_)) => Route::NotFound,
        // A complete parse always has both; answer a request line without them as malformed.
        _ => Route::BadRequest,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_string_still_reaches_the_metrics() {
        assert_eq!(route(b"GET /metrics?name[]=x HTTP/1.1\r\n\r\n"), Some(Route::Metrics));
    }

    #[test]
    fn another_method_on_the_metrics_path_is_not_allowed() {
        assert_eq!(route(b"POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n"), Some(Route::MethodNotAllowed));
    }

    #[test]
    fn a_path_that_only_starts_like_the_metrics_path_is_not_found() {
        assert_eq!(route(b"GET /metricsx HTTP/1.1\r\n\r\n"), Some(Route::NotFound));
        assert_eq!(route(b"GET /metrics/ HTTP/1.1\r\n\r\n"), Some(Route::NotFound));
    }

    #[test]
    fn an_incomplete_head_at_the_bound_is_too_large() {
        let mut head = b"GET /metrics HTTP/1.1\r\nX-Filler: ".to_vec();
        head.resize(MAX_HEAD_BYTES - 1, b'a');
        assert_eq!(route(&head), None);
        head.push(b'a');
        assert_eq!(route(&head), Some(Route::HeadTooLarge));
    }

    #[test]
    fn too_many_header_lines_are_too_large() {
        let mut head = b"GET /metrics HTTP/1.1\r\n".to_vec();
        for i in 0..=MAX_HEADERS {
            head.extend_from_slice(format!("X-{i}: y\r\n").as_bytes());
        }
        head.extend_from_slice(b"\r\n");
        assert_eq!(route(&head), Some(Route::HeadTooLarge));
    }

    #[test]
    fn bytes_that_are_not_http_are_a_bad_request() {
        assert_eq!(route(b"\xff\xfe\x00\x00 junk\r\n\r\n"), Some(Route::BadRequest));
        assert_eq!(route(b"GET /metrics HTTP/9.9\r\n\r\n"), Some(Route::BadRequest));
    }
}
