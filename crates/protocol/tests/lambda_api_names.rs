//! Names, qualifiers, ARNs and query strings of the Lambda API: Lambda's patterns and limits
//! (Lambda API reference, `FunctionName`, `Qualifier`, `Alias`, `LayerVersionArn`), each parse
//! checked against its `Display`.

use protocol::lambda_api::limits::{
    ALIAS_NAME_MAX, FUNCTION_NAME_MAX, FUNCTION_REF_MAX, LATEST, QUALIFIER_MAX,
};
use protocol::lambda_api::{
    AliasName, FunctionArn, FunctionName, FunctionRef, LayerVersionArn, ListQuery, Qualifier,
    VersionNumber,
};

#[test]
fn qualifiers_parse_and_display_back() {
    for (text, want) in [
        (LATEST, Qualifier::Latest),
        ("1", Qualifier::Version(VersionNumber(1))),
        ("42", Qualifier::Version(VersionNumber(42))),
        ("live", Qualifier::Alias(AliasName::parse("live").unwrap())),
        (
            "v1_blue-2",
            Qualifier::Alias(AliasName::parse("v1_blue-2").unwrap()),
        ),
    ] {
        let q = Qualifier::parse(text).unwrap();
        assert_eq!(q, want, "{text}");
        assert_eq!(q.to_string(), text);
        assert_eq!(q.is_version(), !matches!(want, Qualifier::Alias(_)));
    }
}

#[test]
fn qualifiers_outside_the_pattern_are_refused_with_the_rule() {
    let long = "a".repeat(QUALIFIER_MAX + 1);
    for (text, says) in [
        ("", "1 to 128"),
        ("$latest", "letters, digits"),
        ("live.1", "letters, digits"),
        ("01", "leading zero"),
        (long.as_str(), "1 to 128"),
    ] {
        let err = Qualifier::parse(text).unwrap_err();
        assert_eq!(err.what, "qualifier", "{text}");
        assert!(err.to_string().contains(says), "{text:?}: {err}");
    }
}

#[test]
fn alias_names_follow_lambdas_pattern() {
    assert!(AliasName::parse(&"a".repeat(ALIAS_NAME_MAX)).is_ok());
    assert!(AliasName::parse(&"a".repeat(ALIAS_NAME_MAX + 1)).is_err());
    let err = AliasName::parse("123").unwrap_err().to_string();
    assert!(err.contains("all digits"), "{err}");
    assert!(
        AliasName::parse("1a").is_ok(),
        "digits and a letter is an alias"
    );
}

#[test]
fn function_names_follow_lambdas_pattern() {
    assert!(FunctionName::parse(&"f".repeat(FUNCTION_NAME_MAX)).is_ok());
    let err = FunctionName::parse(&"f".repeat(FUNCTION_NAME_MAX + 1)).unwrap_err();
    assert!(err.to_string().contains("1 to 64"), "{err}");
    let err = FunctionName::parse("my function").unwrap_err().to_string();
    assert!(err.contains("' '"), "names the bad character: {err}");
}

#[test]
fn function_arns_parse_and_display_back() {
    for text in [
        "arn:aws:lambda:us-west-2:123456789012:function:my-function",
        "arn:aws:lambda:us-west-2:123456789012:function:my-function:$LATEST",
        "arn:aws:lambda:us-west-2:123456789012:function:my-function:7",
        "arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:f:live",
    ] {
        let arn = FunctionArn::parse(text).unwrap();
        assert_eq!(arn.to_string(), text);
        assert_eq!(arn.to_string().parse::<FunctionArn>().unwrap(), arn);
    }
    let arn = FunctionArn::parse("arn:aws:lambda:us-east-1:123456789012:function:f").unwrap();
    assert_eq!(arn.name.as_str(), "f");
    assert_eq!(arn.scope.region, "us-east-1");
    let live = arn.qualified(Qualifier::parse("live").unwrap());
    assert_eq!(
        live.to_string(),
        "arn:aws:lambda:us-east-1:123456789012:function:f:live"
    );
    assert_eq!(live.unqualified(), arn);
}

#[test]
fn malformed_function_arns_are_refused() {
    for text in [
        "f",
        "123456789012:function:f",
        "arn:aws:s3:us-east-1:123456789012:function:f",
        "arn:aws:lambda:us-east-1:1234:function:f",
        "arn:aws:lambda:useast1:123456789012:function:f",
        "arn:aws:lambda:us-east-1:123456789012:function:f:live:extra",
    ] {
        assert!(FunctionArn::parse(text).is_err(), "{text}");
    }
}

#[test]
fn function_name_parameters_take_every_form() {
    let r = FunctionRef::parse("my-function").unwrap();
    assert_eq!(
        (r.name.as_str(), &r.qualifier, &r.account),
        ("my-function", &None, &None)
    );

    let r = FunctionRef::parse("my-function:v1").unwrap();
    assert_eq!(r.qualifier, Some(Qualifier::parse("v1").unwrap()));

    let r = FunctionRef::parse("123456789012:function:my-function:3").unwrap();
    assert_eq!(r.account.as_deref(), Some("123456789012"));
    assert_eq!(r.qualifier, Some(Qualifier::Version(VersionNumber(3))));
    assert!(r.scope.is_none());

    let r =
        FunctionRef::parse("arn:aws:lambda:us-west-2:123456789012:function:my-function").unwrap();
    assert_eq!(r.scope.map(|s| s.region), Some("us-west-2".to_owned()));

    let too_long = format!(
        "arn:aws:lambda:us-west-2:123456789012:function:{}",
        "f".repeat(FUNCTION_REF_MAX)
    );
    assert!(FunctionRef::parse(&too_long).is_err());
    assert!(FunctionRef::parse("a:b:c").is_err());
}

#[test]
fn layer_version_arns_parse_and_display_back() {
    let text = "arn:aws:lambda:us-east-2:123456789012:layer:my-layer:1";
    let arn = LayerVersionArn::parse(text).unwrap();
    assert_eq!(arn.to_string(), text);
    assert_eq!(
        arn.layer_arn(),
        "arn:aws:lambda:us-east-2:123456789012:layer:my-layer"
    );
    assert_eq!(arn.version, VersionNumber(1));
    for bad in [
        "arn:aws:lambda:us-east-2:123456789012:layer:my-layer",
        "arn:aws:lambda:us-east-2:123456789012:layer:my-layer:x",
        "arn:aws:lambda:us-east-2:123456789012:function:f:1",
    ] {
        assert!(LayerVersionArn::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn list_query_reads_lambdas_parameters() {
    let q = ListQuery::parse("Marker=abc%3D%3D&MaxItems=50&FunctionVersion=ALL&Other=1").unwrap();
    assert_eq!(q.marker.as_deref(), Some("abc=="));
    assert_eq!(q.max_items, Some(50));
    assert_eq!(q.function_version.as_deref(), Some("ALL"));
    let q = ListQuery::parse("Qualifier=%24LATEST").unwrap();
    assert_eq!(q.qualifier.as_deref(), Some(LATEST));
    assert_eq!(ListQuery::parse("").unwrap(), ListQuery::default());
}

#[test]
fn list_query_refuses_bad_values_naming_them() {
    for (query, name) in [
        ("MaxItems=0", "MaxItems"),
        ("MaxItems=10001", "MaxItems"),
        ("MaxItems=ten", "MaxItems"),
        ("Qualifier=", "Qualifier"),
    ] {
        let err = ListQuery::parse(query).unwrap_err();
        assert_eq!(err.name, name, "{query}");
        assert!(err.to_string().contains(name), "{err}");
    }
    // A malformed or multi-byte escape is kept, never a panic.
    let q = ListQuery::parse("Marker=%E2%82%AC%zz%").unwrap();
    assert_eq!(q.marker.as_deref(), Some("€%zz%"));
}
