//! Pseudo parameters (`AWS::Region`, `AWS::AccountId`, ...) of one stack.

use serde_json::Value;

/// The values of a stack's pseudo parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pseudo {
    /// `AWS::Region` (`us-east-1`).
    pub region: String,
    /// `AWS::AccountId` (12 digits).
    pub account_id: String,
    /// `AWS::Partition` (`aws`, `aws-cn`, `aws-us-gov`).
    pub partition: String,
    /// `AWS::StackName`.
    pub stack_name: String,
    /// `AWS::StackId`: `arn:<partition>:cloudformation:<region>:<account>:stack/<name>/<id>`.
    pub stack_id: String,
    /// `AWS::URLSuffix` (`amazonaws.com`, `amazonaws.com.cn`).
    pub url_suffix: String,
}

impl Pseudo {
    /// The pseudo parameters of stack `stack_name` in `region` and `account_id`, the partition
    /// and URL suffix following the region (`cn-*`: `aws-cn`; `us-gov-*`: `aws-us-gov`), the stack
    /// id ending in `unique_id` (CloudFormation's is a UUID).
    pub fn for_stack(region: &str, account_id: &str, stack_name: &str, unique_id: &str) -> Pseudo {
        let (partition, url_suffix) = if region.starts_with("cn-") {
            ("aws-cn", "amazonaws.com.cn")
        } else if region.starts_with("us-gov-") {
            ("aws-us-gov", "amazonaws.com")
        } else {
            ("aws", "amazonaws.com")
        };
        Pseudo {
            region: region.to_owned(),
            account_id: account_id.to_owned(),
            partition: partition.to_owned(),
            stack_name: stack_name.to_owned(),
            stack_id: format!(
                "arn:{partition}:cloudformation:{region}:{account_id}:stack/{stack_name}/{unique_id}"
            ),
            url_suffix: url_suffix.to_owned(),
        }
    }

    /// The value of pseudo parameter `name` (`AWS::Region`, `AWS::AccountId`, `AWS::Partition`,
    /// `AWS::StackName`, `AWS::StackId`, `AWS::URLSuffix`, `AWS::NotificationARNs` (an empty
    /// list)); `None` for any other name, `AWS::NoValue` included.
    pub fn value(&self, name: &str) -> Option<Value> {
        let text = match name {
            "AWS::Region" => &self.region,
            "AWS::AccountId" => &self.account_id,
            "AWS::Partition" => &self.partition,
            "AWS::StackName" => &self.stack_name,
            "AWS::StackId" => &self.stack_id,
            "AWS::URLSuffix" => &self.url_suffix,
            "AWS::NotificationARNs" => return Some(Value::Array(Vec::new())),
            _ => return None,
        };
        Some(Value::String(text.clone()))
    }

    /// Whether `name` is a pseudo parameter (`AWS::NoValue` included).
    pub fn is_pseudo(name: &str) -> bool {
        matches!(
            name,
            "AWS::Region"
                | "AWS::AccountId"
                | "AWS::Partition"
                | "AWS::StackName"
                | "AWS::StackId"
                | "AWS::URLSuffix"
                | "AWS::NotificationARNs"
                | "AWS::NoValue"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_and_suffix_follow_the_region() {
        let p = Pseudo::for_stack("cn-north-1", "123456789012", "s", "id");
        assert_eq!(p.value("AWS::Partition").unwrap(), "aws-cn");
        assert_eq!(p.value("AWS::URLSuffix").unwrap(), "amazonaws.com.cn");
        assert_eq!(
            p.value("AWS::StackId").unwrap(),
            "arn:aws-cn:cloudformation:cn-north-1:123456789012:stack/s/id"
        );
        let p = Pseudo::for_stack("eu-west-1", "123456789012", "s", "id");
        assert_eq!(p.value("AWS::Partition").unwrap(), "aws");
        assert_eq!(p.value("AWS::Region").unwrap(), "eu-west-1");
        assert_eq!(
            p.value("AWS::NotificationARNs").unwrap(),
            serde_json::json!([])
        );
        assert_eq!(p.value("AWS::NoValue"), None);
        assert_eq!(p.value("AWS::Nope"), None);
    }
}
