//! Creates the table from its one definition: the `Table` resource of
//! `infra/cloudformation/foundations.yaml`, so local and test tables cannot drift from AWS.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, CreateGlobalSecondaryIndexAction, GlobalSecondaryIndex,
    GlobalSecondaryIndexUpdate, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, StreamSpecification, StreamViewType, TimeToLiveSpecification,
};
use aws_sdk_dynamodb::Client;
use serde_yaml::Value;

pub const TEMPLATE: &str = include_str!("../../cloudformation/foundations.yaml");

fn table_properties() -> Result<Value, String> {
    let template: Value =
        serde_yaml::from_str(TEMPLATE).map_err(|e| format!("foundations.yaml: {e}"))?;
    let resources = template
        .get("Resources")
        .and_then(Value::as_mapping)
        .ok_or("no Resources")?;
    resources
        .values()
        .find(|r| r.get("Type").and_then(Value::as_str) == Some("AWS::DynamoDB::Table"))
        .and_then(|r| r.get("Properties"))
        .cloned()
        .ok_or_else(|| "no AWS::DynamoDB::Table in foundations.yaml".into())
}

fn text<'a>(v: &'a Value, key: &str) -> Result<&'a str, String> {
    v.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("missing {key}"))
}

fn key_schema(v: &Value) -> Result<Vec<KeySchemaElement>, String> {
    v.as_sequence()
        .ok_or("KeySchema is not a list")?
        .iter()
        .map(|k| {
            KeySchemaElement::builder()
                .attribute_name(text(k, "AttributeName")?)
                .key_type(KeyType::from(text(k, "KeyType")?))
                .build()
                .map_err(|e| e.to_string())
        })
        .collect()
}

fn attribute_definitions(props: &Value) -> Result<Vec<AttributeDefinition>, String> {
    props
        .get("AttributeDefinitions")
        .and_then(Value::as_sequence)
        .ok_or("no AttributeDefinitions")?
        .iter()
        .map(|a| {
            AttributeDefinition::builder()
                .attribute_name(text(a, "AttributeName")?)
                .attribute_type(ScalarAttributeType::from(text(a, "AttributeType")?))
                .build()
                .map_err(|e| e.to_string())
        })
        .collect()
}

/// The template's indexes: (name, key schema, projection type).
fn indexes(props: &Value) -> Result<Vec<(String, Vec<KeySchemaElement>, String)>, String> {
    props
        .get("GlobalSecondaryIndexes")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
        .map(|g| {
            let projection = g.get("Projection").ok_or("GSI without Projection")?;
            Ok((
                text(g, "IndexName")?.to_owned(),
                key_schema(g.get("KeySchema").ok_or("GSI without KeySchema")?)?,
                text(projection, "ProjectionType")?.to_owned(),
            ))
        })
        .collect()
}

fn projection(kind: &str) -> Projection {
    Projection::builder()
        .projection_type(ProjectionType::from(kind))
        .build()
}

/// Adds to an existing table the indexes the template has and it lacks (a local data
/// folder from before a change that added one); answers their names.
pub async fn add_missing_indexes(client: &Client, name: &str) -> Result<Vec<String>, String> {
    let described = client
        .describe_table()
        .table_name(name)
        .send()
        .await
        .map_err(|e| {
            format!(
                "DescribeTable {name}: {}",
                aws_sdk_dynamodb::error::DisplayErrorContext(e)
            )
        })?;
    let existing: Vec<String> = described
        .table
        .and_then(|t| t.global_secondary_indexes)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|g| g.index_name)
        .collect();
    let props = table_properties()?;
    let mut added = Vec::new();
    for (index, keys, kind) in indexes(&props)? {
        if existing.contains(&index) {
            continue;
        }
        let create = CreateGlobalSecondaryIndexAction::builder()
            .index_name(&index)
            .set_key_schema(Some(keys))
            .projection(projection(&kind))
            .build()
            .map_err(|e| e.to_string())?;
        client
            .update_table()
            .table_name(name)
            .set_attribute_definitions(Some(attribute_definitions(&props)?))
            .global_secondary_index_updates(
                GlobalSecondaryIndexUpdate::builder().create(create).build(),
            )
            .send()
            .await
            .map_err(|e| {
                format!(
                    "UpdateTable {name} (+{index}): {}",
                    aws_sdk_dynamodb::error::DisplayErrorContext(e)
                )
            })?;
        // One index at a time is built (as in AWS): the next waits for this one.
        wait_until_active(client, name, &index).await?;
        added.push(index);
    }
    Ok(added)
}

/// Waits (at most a minute) until `index` of `name` is ACTIVE.
async fn wait_until_active(client: &Client, name: &str, index: &str) -> Result<(), String> {
    for _ in 0..600 {
        let described = client
            .describe_table()
            .table_name(name)
            .send()
            .await
            .map_err(|e| {
                format!(
                    "DescribeTable {name}: {}",
                    aws_sdk_dynamodb::error::DisplayErrorContext(e)
                )
            })?;
        let active = described
            .table
            .and_then(|t| t.global_secondary_indexes)
            .unwrap_or_default()
            .iter()
            .any(|g| {
                g.index_name.as_deref() == Some(index)
                    && g.index_status == Some(aws_sdk_dynamodb::types::IndexStatus::Active)
            });
        if active {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    Err(format!("{name}: index {index} not ACTIVE after a minute"))
}

/// Creates `name` as the template defines the table (keys, indexes, stream, TTL). Answers
/// false when it already exists.
pub async fn create_table(client: &Client, name: &str) -> Result<bool, String> {
    create_table_with(client, name, true).await
}

/// [`create_table`], with or without the stream. The bench's tables that no processor
/// reads go without: DynamoDB Local's cost per write grows with the stream's length (in
/// AWS a stream costs a write nothing), so a stream nobody reads only skews the figures.
pub async fn create_table_with(client: &Client, name: &str, stream: bool) -> Result<bool, String> {
    if client
        .describe_table()
        .table_name(name)
        .send()
        .await
        .is_ok()
    {
        return Ok(false);
    }
    let props = table_properties()?;
    let mut request = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_attribute_definitions(Some(attribute_definitions(&props)?));
    request = request.set_key_schema(Some(key_schema(
        props.get("KeySchema").ok_or("no KeySchema")?,
    )?));
    for (index, keys, kind) in indexes(&props)? {
        request = request.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(index)
                .set_key_schema(Some(keys))
                .projection(projection(&kind))
                .build()
                .map_err(|e| e.to_string())?,
        );
    }
    if let Some(stream) = props.get("StreamSpecification").filter(|_| stream) {
        request = request.stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::from(text(stream, "StreamViewType")?))
                .build()
                .map_err(|e| e.to_string())?,
        );
    }
    request.send().await.map_err(|e| {
        format!(
            "CreateTable {name}: {}",
            aws_sdk_dynamodb::error::DisplayErrorContext(e)
        )
    })?;
    if let Some(ttl) = props.get("TimeToLiveSpecification") {
        client
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(text(ttl, "AttributeName")?)
                    .enabled(true)
                    .build()
                    .map_err(|e| e.to_string())?,
            )
            .send()
            .await
            .map_err(|e| {
                format!(
                    "UpdateTimeToLive {name}: {}",
                    aws_sdk_dynamodb::error::DisplayErrorContext(e)
                )
            })?;
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_defines_keys_indexes_stream_and_ttl() {
        let props = table_properties().unwrap();
        let indexes: Vec<&str> = props["GlobalSecondaryIndexes"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|g| g["IndexName"].as_str().unwrap())
            .collect();
        use edubot_adapters::store::index;
        assert_eq!(
            indexes,
            [
                index::RECENCY,
                index::SUPPORT,
                index::UNPROCESSED,
                index::PENDING,
                index::TEAM
            ]
        );
        assert_eq!(
            props["StreamSpecification"]["StreamViewType"],
            "NEW_AND_OLD_IMAGES"
        );
        assert_eq!(
            props["TimeToLiveSpecification"]["AttributeName"],
            "expires_at"
        );
        assert_eq!(
            props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"],
            true
        );
    }
}
