//! The provider's sign-in form as a person's browser meets it: read from the page, filled in,
//! sent.

use scraper::{Html, Selector};
use url::Url;

pub struct SignInForm {
    action: Url,
    /// The request the form carries, in its hidden fields.
    hidden: Vec<(String, String)>,
}

impl SignInForm {
    /// The form in `html`, the page at `page`.
    pub fn read(page: Url, html: &str) -> Self {
        let html = Html::parse_document(html);
        let form = html
            .select(&Selector::parse("#sign-in-form").expect("a selector"))
            .next()
            .unwrap_or_else(|| panic!("{page} shows no sign-in form: {}", html.html()));
        let action = form.attr("action").expect("the form's action");
        let hidden = form
            .select(&Selector::parse("input[type=hidden]").expect("a selector"))
            .map(|input| {
                let value = |name| input.attr(name).unwrap_or_default().to_owned();
                (value("name"), value("value"))
            })
            .collect();
        Self {
            action: page.join(action).expect("the form's address"),
            hidden,
        }
    }

    /// Types `username` and presses Sign in.
    pub async fn sign_in(self, browser: &reqwest::Client, username: &str) -> reqwest::Response {
        self.send(browser, [("username", username), ("decision", "allow")])
            .await
    }

    /// Presses Cancel.
    pub async fn cancel(self, browser: &reqwest::Client) -> reqwest::Response {
        self.send(browser, [("decision", "deny")]).await
    }

    async fn send<'a>(
        self,
        browser: &reqwest::Client,
        typed: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> reqwest::Response {
        let mut fields = self.hidden;
        fields.extend(typed.into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())));
        browser
            .post(self.action)
            .form(&fields)
            .send()
            .await
            .expect("the sign-in form is sent")
    }
}
