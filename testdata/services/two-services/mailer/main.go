package main

import amqp "github.com/rabbitmq/amqp091-go"

func main() {
	conn, _ := amqp.Dial("amqp://guest:guest@localhost:5672/")
	ch, _ := conn.Channel()
	msgs, _ := ch.Consume("mail", "", true, false, false, false, nil)
	for m := range msgs {
		send(m.Body)
	}
}

func send(body []byte) {}
