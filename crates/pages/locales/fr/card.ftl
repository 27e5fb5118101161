# La carte CPS (PSC-06) : connexion par carte, refus, « Ma CPS ».

card-back-to-login = Revenir à la page de connexion
card-refused-none-title = Aucune carte CPS présentée
card-refused-none-text = Votre navigateur n'a présenté aucun certificat de carte CPS. Insérez votre carte dans le lecteur (ou importez votre certificat de carte dans le navigateur), puis réessayez.
card-refused-foreign-title = Cette carte n'est pas une carte CPS reconnue
card-refused-foreign-text = Le certificat présenté n'a pas été émis par une autorité de certification des cartes CPS acceptée ici. Choisissez le certificat de votre carte CPS lorsque le navigateur vous le demande, ou connectez-vous avec l'application e-CPS.
card-refused-expired-title = Votre carte CPS a expiré
card-refused-expired-text = La date de validité de votre carte est dépassée. Une nouvelle carte est envoyée à votre adresse de correspondance enregistrée dans le RPPS lors du renouvellement ; en attendant, connectez-vous avec l'application e-CPS.
card-refused-notyet-title = Votre carte CPS n'est pas encore valide
card-refused-notyet-text = La période de validité de votre carte n'a pas commencé. Vérifiez l'heure de votre ordinateur, ou connectez-vous avec l'application e-CPS.
card-refused-revoked-title = Votre carte CPS a été révoquée
card-refused-revoked-text = Cette carte a été déclarée perdue, volée ou non reçue, ou a été remplacée : elle ne permet plus de se connecter. Utilisez votre nouvelle carte ou l'application e-CPS. En cas de question sur votre CPS, contactez l'Agence du Numérique en Santé au 0806 800 213.
card-refused-unknown-title = Titulaire inconnu du RPPS
card-refused-unknown-text = Le numéro inscrit sur cette carte ne correspond à aucun professionnel du RPPS. Contactez votre ARS pour vérifier votre enregistrement.
card-refused-inactive-title = Aucune activité en cours
card-refused-inactive-text = Le RPPS n'indique plus d'activité en cours pour le titulaire de cette carte. Contactez votre ARS si votre situation a changé.
card-proof-invalid-title = Preuve de carte invalide ou expirée
card-proof-invalid-text = Ce lien de fin de connexion par carte a déjà servi ou a expiré. Recommencez la connexion avec votre carte CPS.
