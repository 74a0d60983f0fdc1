//! OpenAPI schemas for values whose rules one attribute cannot state: an IP address of either family, an
//! allowlist entry, the key name rule. The document promises what the server checks, so generated clients
//! and fuzzers send only what it accepts.

use utoipa::openapi::schema::{AnyOfBuilder, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::{KnownFormat, RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

/// A key name: 1 to 64 characters, at least one of them visible, no C0 or C1 control characters.
pub struct KeyName;

impl PartialSchema for KeyName {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .min_length(Some(1))
            .max_length(Some(64))
            .pattern(Some(r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"))
            .description(Some("1 to 64 characters, not only spaces, no control characters"))
            .into()
    }
}

impl ToSchema for KeyName {}

/// An organisation name: 1 to 100 characters, at least one of them visible, no C0 or C1 control characters.
pub struct OrganisationName;

impl PartialSchema for OrganisationName {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .min_length(Some(1))
            .max_length(Some(100))
            .pattern(Some(r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"))
            .description(Some("1 to 100 characters, not only spaces, no control characters"))
            .into()
    }
}

impl ToSchema for OrganisationName {}

/// The provider's own id for a customer: 1 to 255 characters, no whitespace or control characters.
pub struct ExternalId;

impl PartialSchema for ExternalId {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .min_length(Some(1))
            .max_length(Some(255))
            .pattern(Some(r"^[^\s\x00-\x1f\x7f-\x9f]+$"))
            .description(Some("1 to 255 characters without whitespace or control characters, unique"))
            .examples([serde_json::json!("cus_4711")])
            .into()
    }
}

impl ToSchema for ExternalId {}

/// An IPv4 CIDR such as `10.0.0.0/8`.
const IPV4_CIDR: &str = r"^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])/(3[0-2]|[12]?[0-9])$";

fn string_with_format(format: KnownFormat) -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String).format(Some(SchemaFormat::KnownFormat(format)))
}

/// An IPv4 or IPv6 address.
pub struct IpAddress;

impl PartialSchema for IpAddress {
    fn schema() -> RefOr<Schema> {
        AnyOfBuilder::new()
            .item(string_with_format(KnownFormat::Ipv4))
            .item(string_with_format(KnownFormat::Ipv6))
            .description(Some("An IPv4 or IPv6 address"))
            .examples([serde_json::json!("203.0.113.7")])
            .into()
    }
}

impl ToSchema for IpAddress {}

/// An allowlist entry: an IPv4 or IPv6 address, or an IPv4 network in CIDR form. (IPv6 networks such as
/// `2001:db8::/32` are accepted too; no pattern here states them exactly.)
pub struct Network;

impl PartialSchema for Network {
    fn schema() -> RefOr<Schema> {
        AnyOfBuilder::new()
            .item(string_with_format(KnownFormat::Ipv4))
            .item(string_with_format(KnownFormat::Ipv6))
            .item(ObjectBuilder::new().schema_type(Type::String).pattern(Some(IPV4_CIDR)))
            .description(Some("An IP address, or a network in CIDR form such as 10.0.0.0/8 or 2001:db8::/32"))
            .examples([serde_json::json!("10.0.0.0/8")])
            .into()
    }
}

impl ToSchema for Network {}

/// Key metadata: a JSON object of at most 4 KiB once serialised.
pub struct Metadata;

impl PartialSchema for Metadata {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some("A JSON object of at most 4 KiB once serialised, returned on a valid verification"))
            .examples([serde_json::json!({"plan": "pro"})])
            .into()
    }
}

impl ToSchema for Metadata {}

/// `hour` or `day`.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum Granularity {
    /// One bucket per hour.
    Hour,
    /// One bucket per UTC day.
    Day,
}

/// A person's name: at most 100 characters, no C0 or C1 control characters.
pub struct PersonName;

impl PartialSchema for PersonName {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .max_length(Some(100))
            .pattern(Some(r"^[^\x00-\x1f\x7f-\x9f]*$"))
            .description(Some("At most 100 characters, no control characters; empty for none"))
            .into()
    }
}

impl ToSchema for PersonName {}
