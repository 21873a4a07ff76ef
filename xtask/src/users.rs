//! `cargo xtask users add EMAIL | list | remove EMAIL`: the people of the stack's Cognito user
//! pool (`auth = "cognito"`, the default). Only an administrator adds people; Cognito mails each
//! new one a first password, to be changed at the first sign-in.

use anyhow::{Context, Result, bail};
use aws_sdk_cognitoidentityprovider::{
    Client,
    error::DisplayErrorContext,
    types::{AttributeType, DeliveryMediumType},
};
use xshell::Shell;

use crate::{
    flags::{self, UsersCommand},
    lifecycle::Lifecycle,
};

impl flags::Users {
    pub fn run(self, sh: &Shell) -> Result<()> {
        let target = match &self.command {
            UsersCommand::Add(one) | UsersCommand::Remove(one) => &one.target,
            UsersCommand::List(all) => &all.target,
        };
        let Lifecycle {
            mut steps, aws, tf, ..
        } = Lifecycle::open(sh, "users", target, None)?;
        let outputs = tf.outputs(sh)?;
        let Some(pool) = outputs.user_pool_id else {
            bail!(match outputs.auth.as_deref() {
                Some("oidc") =>
                    "this stack signs people in with its own OpenID Connect provider (auth = \"oidc\"): add and remove them there",
                Some("none") =>
                    "this stack has no sign-in (auth = \"none\"): there are no people to manage. Set auth = \"cognito\" and deploy to make it private",
                _ =>
                    "this Terraform state holds no stack with a user pool: deploy first (cargo xtask deploy)",
            });
        };
        let cognito = Client::new(aws.config());
        match self.command {
            UsersCommand::Add(one) => steps.run(
                "add the person to the user pool",
                "read Cognito's error above",
                || aws.block_on(add(&cognito, &pool, &one.email)),
            )?,
            UsersCommand::List(_) => aws.block_on(list(&cognito, &pool))?,
            UsersCommand::Remove(one) => steps.run(
                "remove the person from the user pool",
                "read Cognito's error above",
                || aws.block_on(remove(&cognito, &pool, &one.email)),
            )?,
        }
        Ok(())
    }
}

/// A person's e-mail address: their user name in the pool.
#[derive(Clone, Debug)]
pub struct Email(String);

impl std::str::FromStr for Email {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let email = text.trim().to_lowercase();
        match email.split_once('@') {
            Some((local, domain))
                if !local.is_empty()
                    && domain.contains('.')
                    && !domain.contains('@')
                    && !email.contains(char::is_whitespace) =>
            {
                Ok(Self(email))
            }
            _ => Err(format!("{text:?} is not an e-mail address")),
        }
    }
}

impl std::fmt::Display for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

async fn add(cognito: &Client, pool: &str, email: &Email) -> Result<()> {
    let attribute = |name: &str, value: &str| {
        AttributeType::builder()
            .name(name)
            .value(value)
            .build()
            .expect("name is set")
    };
    let added = cognito
        .admin_create_user()
        .user_pool_id(pool)
        .username(&email.0)
        .user_attributes(attribute("email", &email.0))
        // The address is the administrator's word: Cognito mails the first password there.
        .user_attributes(attribute("email_verified", "true"))
        .desired_delivery_mediums(DeliveryMediumType::Email)
        .send()
        .await;
    match added {
        Ok(_) => {
            println!("Added {email}: Cognito mails them a first password to sign in with");
            Ok(())
        }
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_username_exists_exception()) =>
        {
            println!("{email} is already in the user pool: unchanged");
            Ok(())
        }
        Err(e) => Err(anyhow::anyhow!("{}", DisplayErrorContext(e)))
            .with_context(|| format!("adding {email} to the user pool {pool}")),
    }
}

async fn list(cognito: &Client, pool: &str) -> Result<()> {
    let mut pages = cognito
        .list_users()
        .user_pool_id(pool)
        .into_paginator()
        .items()
        .send();
    let mut count = 0;
    while let Some(user) = pages.next().await {
        let user = user
            .map_err(|e| anyhow::anyhow!("{}", DisplayErrorContext(e)))
            .with_context(|| format!("listing the user pool {pool}"))?;
        let email = user
            .attributes()
            .iter()
            .find(|a| a.name() == "email")
            .and_then(|a| a.value())
            .or(user.username())
            .unwrap_or_default();
        let status = user.user_status().map_or("UNKNOWN", |s| s.as_str());
        let enabled = if user.enabled() { "" } else { " (disabled)" };
        println!("{email}\t{status}{enabled}");
        count += 1;
    }
    println!("{count} people in the user pool");
    Ok(())
}

async fn remove(cognito: &Client, pool: &str, email: &Email) -> Result<()> {
    let removed = cognito
        .admin_delete_user()
        .user_pool_id(pool)
        .username(&email.0)
        .send()
        .await;
    match removed {
        Ok(_) => {
            println!("Removed {email}: they can no longer sign in");
            Ok(())
        }
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_user_not_found_exception()) =>
        {
            println!("{email} is not in the user pool: unchanged");
            Ok(())
        }
        Err(e) => Err(anyhow::anyhow!("{}", DisplayErrorContext(e)))
            .with_context(|| format!("removing {email} from the user pool {pool}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_email_address_is_parsed_once() {
        let email: Email = " Ana@Example.COM ".parse().unwrap();
        assert_eq!(email.to_string(), "ana@example.com");
        for bad in [
            "",
            "ana",
            "@example.com",
            "ana@example",
            "a b@example.com",
            "a@b@c.de",
        ] {
            assert!(bad.parse::<Email>().is_err(), "{bad:?} was taken");
        }
    }
}
