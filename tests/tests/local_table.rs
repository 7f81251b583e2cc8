//! The local stack's table keeps up with the template: a data folder from before an index
//! gets it at start. Its own test binary, so its DynamoDB Local is not shared with tests
//! that write thousands of items (DynamoDB Local builds an index slowly under load).

use edubot_e2e::dynamodb_endpoint;

#[tokio::test]
async fn a_local_table_from_before_an_index_gets_it_at_start() {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    let client = edubot_local::dynamodb_client(&dynamodb_endpoint().await);
    let table = format!(
        "old-{}",
        edubot_adapters::model::new_message_id().to_lowercase()
    );
    let mut create = client
        .create_table()
        .table_name(&table)
        .billing_mode(BillingMode::PayPerRequest);
    for (name, key_type) in [("pk", KeyType::Hash), ("sk", KeyType::Range)] {
        create = create
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(name)
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .unwrap(),
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name(name)
                    .key_type(key_type)
                    .build()
                    .unwrap(),
            );
    }
    create.send().await.unwrap();
    let added = edubot_local::schema::add_missing_indexes(&client, &table)
        .await
        .unwrap();
    use edubot_adapters::store::index;
    let expected = [
        index::RECENCY,
        index::SUPPORT,
        index::UNPROCESSED,
        index::PENDING,
        index::TEAM,
    ];
    assert_eq!(added, expected);
    let described = client
        .describe_table()
        .table_name(&table)
        .send()
        .await
        .unwrap();
    let mut names: Vec<String> = described
        .table
        .unwrap()
        .global_secondary_indexes
        .unwrap_or_default()
        .into_iter()
        .filter_map(|g| g.index_name)
        .collect();
    names.sort();
    let mut sorted = expected.map(str::to_owned).to_vec();
    sorted.sort();
    assert_eq!(names, sorted);
    assert!(edubot_local::schema::add_missing_indexes(&client, &table)
        .await
        .unwrap()
        .is_empty());
}
