//! The WebSocket API's `$connect`: a connection opens only with a single-use ticket from
//! `POST /api/admin/ws-ticket` (`?ticket=…`), still valid, of an admin still enabled; it
//! is then recorded. Anything else answers 401, which refuses the handshake.

use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use edubot_adapters::time::now_ms;
use edubot_adapters::AppContext;
use edubot_app::realtime::connect;
use edubot_app::ErrorCode;

pub async fn handle(
    ctx: &AppContext,
    event: ApiGatewayWebsocketProxyRequest,
) -> Result<ApiGatewayProxyResponse, std::convert::Infallible> {
    let ticket = event.query_string_parameters.first("ticket");
    let Some(connection_id) = event.request_context.connection_id.as_deref() else {
        return Ok(status(400));
    };
    Ok(match connect(ctx, ticket, connection_id, now_ms()).await {
        Ok(_) => status(200),
        Err(e) if e.code == ErrorCode::Unauthorized => {
            tracing::info!("desk connection refused: no valid ticket");
            status(401)
        }
        Err(e) => {
            tracing::error!(error = %e.message, "desk connection not recorded");
            status(500)
        }
    })
}

/// An answer API Gateway reads only for its status: 2xx opens the connection.
pub fn status(code: i64) -> ApiGatewayProxyResponse {
    let mut response = ApiGatewayProxyResponse::default();
    response.status_code = code;
    response
}
