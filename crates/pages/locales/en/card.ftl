# The CPS card (PSC-06): card login, refusals, "Ma CPS".

card-back-to-login = Back to the login page
card-refused-none-title = No CPS card presented
card-refused-none-text = Your browser presented no CPS card certificate. Insert your card in the reader (or import your card certificate into the browser), then try again.
card-refused-foreign-title = This card is not a recognised CPS card
card-refused-foreign-text = The certificate presented was not issued by a CPS card authority accepted here. Choose your CPS card's certificate when the browser asks, or log in with the e-CPS app.
card-refused-expired-title = Your CPS card has expired
card-refused-expired-text = Your card is past its validity date. A new card is mailed to the correspondence address registered in the RPPS when it is renewed; meanwhile, log in with the e-CPS app.
card-refused-notyet-title = Your CPS card is not valid yet
card-refused-notyet-text = Your card's validity period has not started. Check your computer's clock, or log in with the e-CPS app.
card-refused-revoked-title = Your CPS card has been revoked
card-refused-revoked-text = This card was declared lost, stolen or not received, or was replaced: it can no longer be used to log in. Use your new card or the e-CPS app. For any question about your CPS, call the Agence du Numérique en Santé on 0806 800 213.
card-refused-unknown-title = Holder unknown to the RPPS
card-refused-unknown-text = The number on this card matches no professional of the RPPS. Contact your ARS to check your registration.
card-refused-inactive-title = No current activity
card-refused-inactive-text = The RPPS shows no current activity for this card's holder. Contact your ARS if your situation has changed.
card-proof-invalid-title = Card proof invalid or expired
card-proof-invalid-text = This card login link was already used or has expired. Start the login with your CPS card again.
