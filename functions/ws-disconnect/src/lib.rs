//! The WebSocket API's `$disconnect`: the connection is forgotten (its TTL would, later).

use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use edubot_adapters::AppContext;
use edubot_app::realtime::disconnect;

pub async fn handle(
    ctx: &AppContext,
    event: ApiGatewayWebsocketProxyRequest,
) -> Result<ApiGatewayProxyResponse, edubot_app::ports::StoreError> {
    if let Some(id) = event.request_context.connection_id.as_deref() {
        disconnect(ctx, id).await?;
    }
    let mut response = ApiGatewayProxyResponse::default();
    response.status_code = 200;
    Ok(response)
}
